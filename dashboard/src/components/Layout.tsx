import { AppShell, Burger, Button, Group, NavLink, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import type { ReactNode } from 'react';
import { NavLink as RouterLink, useLocation } from 'react-router';
import type { DashboardPermission } from '../session';
import { useSession } from '../session';

/** A page without a permission is every signed-in user's own (their account). */
const PAGES: { to: string; label: string; permission?: DashboardPermission }[] = [
  { to: '/', label: 'Home', permission: 'payments.read' },
  { to: '/payments', label: 'Payments', permission: 'payments.read' },
  { to: '/balances', label: 'Balances', permission: 'balances.read' },
  { to: '/customers', label: 'Customers', permission: 'customers.read' },
  { to: '/developers', label: 'Developers', permission: 'developers.read' },
  { to: '/team', label: 'Team', permission: 'users.manage' },
  { to: '/account', label: 'Account' },
];

/** The frame around every signed-in page: a header, and navigation that folds into a menu on a phone. */
export function Layout({ children }: { children: ReactNode }) {
  const [opened, { toggle, close }] = useDisclosure();
  const { session, signOut, can } = useSession();
  const location = useLocation();
  const isActive = (to: string) => (to === '/' ? location.pathname === '/' : location.pathname.startsWith(to));

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Title order={1} size="h4">
              Payrail
            </Title>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" visibleFrom="sm" c="gray.8">
              {session?.user.email} · {session?.user.role}
            </Text>
            <Button variant="default" size="xs" onClick={() => void signOut()}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main">
        {PAGES.filter((page) => page.permission === undefined || can(page.permission)).map((page) => (
          <NavLink key={page.to} component={RouterLink} to={page.to} label={page.label} active={isActive(page.to)} onClick={close} />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>{children}</AppShell.Main>
    </AppShell>
  );
}
