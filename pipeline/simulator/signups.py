"""Signups for the demo: channels, forms, referral codes tied to validators, UTM tags.

Attribution is what staff want from signups, so the tags point back at what drove them: a
validator's referral code (more of them for a few minutes after that validator posts), a
mention's event id or a forum thread id in ``utm_content``.

Personal data: the simulator makes up an email and phone and keeps only their keyed HMAC; the
clear text never leaves this function (not in events, not in logs).
"""

from __future__ import annotations

from pipeline.events import Signup, Utm
from pipeline.pii import hmac_email, hmac_phone
from pipeline.simulator import text as T
from pipeline.simulator.forum import Forum
from pipeline.simulator.people import referral_code
from pipeline.simulator.stage import Stage

EVENTS = ("eastside-town-hall", "riverfront-canvass-kickoff", "library-forum", "block-party")


class SignupDesk:
    def __init__(self, stage: Stage, forum: Forum) -> None:
        self.stage = stage
        self.forum = forum  # its threads are what forum signups point back at

    def signup(self) -> Signup:
        st, rng = self.stage, self.stage.rng
        boosted = [code for code, until in st.validator_boost.items() if until > st.t]
        channel = rng.choices(
            ("web", "event", "referral"), (0.45, 0.2, 0.35 * (1 + 2 * bool(boosted)))
        )[0]
        form = rng.choice(T.SIGNUP_FORMS[channel])
        code = ""
        if channel == "referral":
            validators = st.campaign.validators
            if boosted and rng.random() < 0.7:
                code = rng.choice(boosted)
            elif validators and rng.random() < 0.5:
                code = referral_code(rng.choice(validators))
            else:
                code = f"VOL-{rng.randint(1000, 9999)}"  # a volunteer's own peer code
            utm = Utm(
                source="referral", medium="peer", campaign="volunteer-drive", content=code.lower()
            )
        elif channel == "event":
            utm = Utm(source="event", medium="offline", campaign=rng.choice(EVENTS))
        else:
            source, medium = rng.choice(T.UTM_SOURCES)
            content = ""
            if source == "forum" and self.forum.threads:
                content = rng.choice(self.forum.threads).thread_id
            elif medium == "social" and rng.random() < 0.4:
                post = st.pick_post(st.recent)
                content = post.event_id if post else ""
            tags = [t.lstrip("#") for s in st.issues for t in s.terms if t.startswith("#")]
            campaign = rng.choice(tags).lower() if tags and rng.random() < 0.6 else "general"
            utm = Utm(source=source, medium=medium, campaign=campaign, content=content)
        region = rng.choices([r for r, _ in T.REGIONS], [w for _, w in T.REGIONS])[0]
        first, last = rng.choice(T.FIRST_NAMES), rng.choice(T.LAST_NAMES)
        email = f"{first}.{last}{rng.randint(1, 999)}@{rng.choice(T.EMAIL_DOMAINS)}"
        phone = f"+1 (206) 555-{rng.randint(100, 199):04d}" if rng.random() < 0.55 else None
        return Signup(
            event_id=st.next_id(),
            platform="forms",
            occurred_at=st.clock(st.t),
            channel=channel,
            form=form,
            referral_code=code,
            utm=utm,
            country="US",
            region=region,
            postal_prefix=rng.choice(T.POSTAL_PREFIXES[region]),
            email_hmac=hmac_email(email, st.pii_key),
            phone_hmac=hmac_phone(phone, st.pii_key) if phone else None,
        )
