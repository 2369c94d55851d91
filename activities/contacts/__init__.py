"""Contacts: the contact and consent `store`, the one consent rule (`consent`), `importing` with
`address_validation` and `freemail`, `double_opt_in`, and GDPR `privacy` (export, erase)."""
