"""Alert delivery: routes from the campaign file, the messages, the channels that send them.

Each route (Slack, email, or a signed webhook) takes the alerts its filters match; urgent ones go
out at once, opportunities wait for the route's digest. The job that does it, at most once per
alert and route, is ``pipeline.jobs.delivery``; how staff set routes up is docs/alerts.md.
"""
