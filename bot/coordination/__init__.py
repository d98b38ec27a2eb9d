"""What several replicas share, and where it lives.

    state                         one process (SQLite)   replicas on PostgreSQL   … with REDIS_URL
    request rate per user         memory                 database (rate_hits)     Redis (sorted sets)
    image jobs running per chat   memory                 database (job_slots)     Redis (sorted sets)
    per-chat locks (MJ cap)       memory                 PostgreSQL advisory      Redis (redis-py Lock)
    who polls Telegram, who syncs
      Discord's slash commands    database (leases)      database (leases)        database (leases)
    answers streaming (⏹)       memory                 memory; presses at another replica
                                                           through the database (bot.chat.running)
    budget reservations, jobs, journaled updates, Midjourney leases, album parts: the database

SQLite means one process on one machine; several replicas need PostgreSQL, and Redis takes
the busiest counters off it. Every owner is an instance (bot.lifecycle.instance): what a
gone instance held is released at once.
"""
