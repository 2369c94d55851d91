"""The `nurture` command: dev stack, enrollment, contacts, senders."""
