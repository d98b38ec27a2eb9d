"""A process's life: its identity and liveness, durable jobs, the inbound journal, recovery, drain."""
