import { Alert } from '@mantine/core';

export function ErrorNote({ error }: { error: string | undefined }) {
  if (error === undefined) return null;
  return (
    <Alert color="red" role="alert" mb="sm">
      {error}
    </Alert>
  );
}
