"""Events: what the ESP, mailboxes and recipients tell us, from the wire to the workflow — webhook
`signature`, ESP event parsing (`esp_events`, `bounces`), Inbound Parse (`inbound_parse`,
`autoreply`, `replies`), unsubscribing, storing once (`ingest`) and the outbox `forwarder` that
signals workflows."""
