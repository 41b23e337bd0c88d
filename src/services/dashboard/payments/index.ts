/** The dashboard's payments, money, customers and charts API (docs/dashboard.md, "Payments and money"). */
export type { DashboardPaymentDeps } from './routes.js';
export { dashboardPaymentRoutes } from './routes.js';
export { dashboardPaymentMigrations } from './migrations.js';
