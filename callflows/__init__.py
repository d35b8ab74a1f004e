"""The call flow as pure code: the call's state and steps (state), the flow (flow), every
sentence the hotline says (prompts), keypad parsing (keypad), the worksheet checks on the
line (checks) and the caucus math and findings under them (caucus, findings), the events a
call records (events), saved progress (progress), phone numbers (phones), the ballots
(ballots) and the audit of a whole results file (audit).

Nothing in this package may import Flask, SQLAlchemy, Redis or Twilio (tests/test_layout.py
checks), so the whole flow can be tested as data in, data out.
"""
