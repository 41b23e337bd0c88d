import { Tabs, Title } from '@mantine/core';
import { ApiKeysPanel } from './developers/ApiKeys';
import { EventsPanel, RequestsPanel } from './developers/Logs';
import { WebhooksPanel } from './developers/Webhooks';

export function DevelopersPage() {
  return (
    <>
      <Title order={2} mb="md">
        Developers
      </Title>
      <Tabs defaultValue="keys" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="keys">API keys</Tabs.Tab>
          <Tabs.Tab value="webhooks">Webhooks</Tabs.Tab>
          <Tabs.Tab value="requests">Requests</Tabs.Tab>
          <Tabs.Tab value="events">Events</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="keys" pt="md">
          <ApiKeysPanel />
        </Tabs.Panel>
        <Tabs.Panel value="webhooks" pt="md">
          <WebhooksPanel />
        </Tabs.Panel>
        <Tabs.Panel value="requests" pt="md">
          <RequestsPanel />
        </Tabs.Panel>
        <Tabs.Panel value="events" pt="md">
          <EventsPanel />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}
