import { Button, Group, Table, Text } from '@mantine/core';
import type { ColumnDef } from '@tanstack/react-table';
import { flexRender, getCoreRowModel, useReactTable } from '@tanstack/react-table';

interface DataTableProps<T> {
  caption: string;
  data: T[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- TanStack's column values are typed per column.
  columns: ColumnDef<T, any>[];
  empty?: string;
  onRowClick?: (row: T) => void;
}

/** A TanStack table drawn with Mantine's Table; wide tables scroll inside their box, not the page. */
export function DataTable<T>({ caption, data, columns, empty = 'Nothing here yet.', onRowClick }: DataTableProps<T>) {
  const table = useReactTable({ data, columns, getCoreRowModel: getCoreRowModel() });
  return (
    // Focusable and named, so keyboard users can scroll a wide table sideways on a phone.
    <Table.ScrollContainer minWidth={600} type="native" tabIndex={0} role="region" aria-label={`${caption} (scrollable)`}>
      <Table striped highlightOnHover={onRowClick !== undefined} aria-label={caption}>
        <Table.Thead>
          {table.getHeaderGroups().map((group) => (
            <Table.Tr key={group.id}>
              {group.headers.map((header) => (
                <Table.Th key={header.id} scope="col">
                  {flexRender(header.column.columnDef.header, header.getContext())}
                </Table.Th>
              ))}
            </Table.Tr>
          ))}
        </Table.Thead>
        <Table.Tbody>
          {table.getRowModel().rows.map((row) => (
            <Table.Tr key={row.id} style={onRowClick ? { cursor: 'pointer' } : undefined} onClick={onRowClick ? () => onRowClick(row.original) : undefined}>
              {row.getVisibleCells().map((cell) => (
                <Table.Td key={cell.id} style={{ whiteSpace: 'nowrap' }}>
                  {flexRender(cell.column.columnDef.cell, cell.getContext())}
                </Table.Td>
              ))}
            </Table.Tr>
          ))}
          {data.length === 0 && (
            <Table.Tr>
              <Table.Td colSpan={columns.length}>
                <Text c="gray.7">{empty}</Text>
              </Table.Td>
            </Table.Tr>
          )}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** Previous / Next over a server-side cursor list (see useCursorList). */
export function CursorPager({ hasPrevious, hasMore, onPrevious, onNext }: { hasPrevious: boolean; hasMore: boolean; onPrevious(): void; onNext(): void }) {
  return (
    <Group justify="flex-end" mt="sm">
      <Button variant="default" size="xs" disabled={!hasPrevious} onClick={onPrevious}>
        Previous
      </Button>
      <Button variant="default" size="xs" disabled={!hasMore} onClick={onNext}>
        Next
      </Button>
    </Group>
  );
}
