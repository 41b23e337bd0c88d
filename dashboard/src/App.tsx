import { Center, Loader } from '@mantine/core';
import { Suspense, lazy } from 'react';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { Layout } from './components/Layout';
import { AcceptInvitePage } from './pages/AcceptInvite';
import { AccountPage } from './pages/Account';
import { BalancesPage } from './pages/Balances';
import { CustomerPage, CustomersPage } from './pages/Customers';
import { DevelopersPage } from './pages/Developers';
import { PaymentPage } from './pages/Payment';
import { PaymentsPage } from './pages/Payments';
import { SignInPage } from './pages/SignIn';
import { TeamPage } from './pages/Team';
import { useSession } from './session';

// Charts bring recharts (most of the bundle): loaded only when Home is shown, so the payments pages
// render without waiting for it.
const HomePage = lazy(() => import('./pages/Home').then((module) => ({ default: module.HomePage })));

export function App() {
  const { session } = useSession();
  if (session === undefined) {
    return (
      <Center h="100vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  }
  return (
    <BrowserRouter basename="/dashboard">
      {session === null ? (
        <Routes>
          <Route path="/invites/:token" element={<AcceptInvitePage />} />
          <Route path="*" element={<SignInPage />} />
        </Routes>
      ) : (
        <Layout>
          <Suspense fallback={<Loader aria-label="Loading page" />}>
            <Routes>
              <Route path="/" element={<HomePage />} />
              <Route path="/payments" element={<PaymentsPage />} />
              <Route path="/payments/:id" element={<PaymentPage />} />
              <Route path="/balances" element={<BalancesPage />} />
              <Route path="/customers" element={<CustomersPage />} />
              <Route path="/customers/:id" element={<CustomerPage />} />
              <Route path="/developers" element={<DevelopersPage />} />
              <Route path="/team" element={<TeamPage />} />
              <Route path="/account" element={<AccountPage />} />
              <Route path="/invites/:token" element={<AcceptInvitePage />} />
              <Route path="*" element={<Navigate to="/" replace />} />
            </Routes>
          </Suspense>
        </Layout>
      )}
    </BrowserRouter>
  );
}
