import { useCallback, useEffect, useState } from 'react';
import type { ListPage, Query } from './api';
import { apiGet } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload(): void;
}

/** GETs `path` now and whenever `path` or `reload()` says so. */
export function useApi<T>(path: string | null, query: Query = {}): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [version, setVersion] = useState(0);
  const key = JSON.stringify(query);

  useEffect(() => {
    if (path === null) return;
    let current = true;
    setLoading(true);
    apiGet<T>(path, JSON.parse(key) as Query).then(
      (body) => {
        if (!current) return;
        setData(body);
        setError(undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (!current) return;
        setError(failure instanceof Error ? failure.message : String(failure));
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [path, key, version]);

  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { data, error, loading, reload };
}

/**
 * A server-paged list: the API's `next_cursor` goes back as `starting_after`; the cursors already
 * visited are kept so Previous can step back. New filters start again at the first page.
 */
export function useCursorList<T>(path: string, filters: Query) {
  const [cursors, setCursors] = useState<string[]>([]);
  const key = JSON.stringify(filters);
  useEffect(() => setCursors([]), [key]);
  const starting_after = cursors[cursors.length - 1];
  const loaded = useApi<ListPage<T>>(path, { ...filters, starting_after });
  const next_cursor = loaded.data?.next_cursor ?? undefined;
  return {
    ...loaded,
    rows: loaded.data?.data ?? [],
    hasPrevious: cursors.length > 0,
    hasMore: (loaded.data?.has_more ?? false) && next_cursor !== undefined,
    next: () => next_cursor !== undefined && setCursors((list) => [...list, next_cursor]),
    previous: () => setCursors((list) => list.slice(0, -1)),
  };
}
