"""Notices to families and teachers: contacts, the outbox of intents, messages, delivery."""
