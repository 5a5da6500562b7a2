"""The pure core: states, operations, rules, pricing and risk. No I/O lives here."""
