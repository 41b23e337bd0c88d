import { createTheme } from '@mantine/core';

// Indigo at shade 7 keeps white button text above WCAG AA contrast (4.5:1); dimmed text is darkened
// for the same reason.
export const theme = createTheme({
  primaryColor: 'indigo',
  primaryShade: 7,
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
});
