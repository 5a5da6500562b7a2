"""Conversations with customers: messages in and out, the agent's memory, manual takeover."""
