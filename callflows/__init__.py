"""The call flow as pure code: steps, prompts, digit parsing, caucus math, ballots.

Nothing in this package may import Flask, SQLAlchemy, Redis or Twilio, so the whole
flow can be tested as data in, data out.
"""
