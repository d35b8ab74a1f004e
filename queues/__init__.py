"""The card's `queue/`: the rq jobs, the call log and the worker that make the call path's
events durable.

(Named `queues` because a top-level `queue` package would shadow the standard library's
`queue`, which redis-py imports.)
"""
