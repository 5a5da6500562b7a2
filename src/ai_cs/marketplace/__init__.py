"""What ai-cs exchanges with a marketplace, whoever carries it (gateway client or a bridge).

``protocol`` is the wire format of CONTRACT §7 (events in, sends out); ``models`` and ``service``
are its durable side: the inbox (each event once), the send outbox (each reply once, retried with
its ``command_id``), account leases, takeovers and result deliveries. Conversations and tasks
write to the outbox here; the gateway client (``ai_cs.gateway``) and the bridges drain it.
"""
