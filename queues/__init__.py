"""The card's `queue/`: rq jobs and worker that make the call path's events durable.

(Named `queues` because a top-level `queue` package would shadow the standard library's
`queue`, which redis-py imports.)
"""
