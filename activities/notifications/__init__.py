"""Notifications: the signed outgoing webhook that tells a person about a reply worth their time
(`interested`, `wrong_person`) — the scheme receivers verify (`signing`), the outbox rows queued in
the commit of what caused them (`outbox`), and the `dispatcher` that POSTs them to
`NURTURE_NOTIFY_URL`, at least once, with backoff.

What is notified, and when, is the reply pipeline's decision (`activities/events/replies.py`); this
room only carries a notification from the outbox to the receiver.
"""
