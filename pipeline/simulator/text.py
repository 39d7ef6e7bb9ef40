"""Words for the demo campaign simulator: templates with slots, names, outlets.

Slots are filled from the campaign file (subjects, their terms, validators), so any campaign reads
right. ``{cand}``/``{rival}`` are one of the subject's name-like terms, ``{cand_tag}`` its hashtag,
``{term}`` an issue term, ``{link}`` a link; the rest are in ``Stage.slots``. Tone matters: the
processors score sentiment from these words, and staff read them on the dashboard.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Maria", "James", "Aisha", "Tom", "Priya", "Kevin", "Lucia", "Dmitri", "Grace", "Omar",
    "Hannah", "Luis", "Mei", "Jamal", "Sarah", "Ethan", "Fatima", "Ben", "Rosa", "Tyler",
    "Nadia", "Chris", "Keisha", "Sam", "Elena", "Marcus", "Yuki", "Derek", "Amara", "Paul",
    "Ingrid", "Rafael", "Tasha", "Noah", "Leah", "Hector", "Jen", "Andre", "Beth", "Kofi",
)  # fmt: skip
LAST_NAMES = (
    "Lopez", "Nguyen", "Patel", "Olsen", "Brooks", "Garcia", "Chen", "Walsh", "Haddad", "Rivera",
    "Kowalski", "Johnson", "Tanaka", "Martin", "Osei", "Murphy", "Ibrahim", "Schultz", "Reed",
    "Santos", "Park", "Dubois", "Fischer", "Abbott", "Moreno", "Hughes", "Kaur", "Bianchi",
)  # fmt: skip
HANDLE_SUFFIXES = ("", "", "_pdx", "writes", "_votes", "42", "88", "_nw", "dad", "mom", "_rn")
NEWS_OUTLETS = (
    ("metroherald", "The Metro Herald", 310_000, "metroherald.example"),
    ("capitolwire", "Capitol Wire", 95_000, "capitolwire.example"),
    ("kxnwnews", "KXNW News 7", 180_000, "kxnw.example"),
    ("civicbeat", "Civic Beat", 22_000, "civicbeat.example"),
)
REPORTERS = (
    ("hollyvance_news", "Holly Vance", 41_000),
    ("statehouse_sam", "Sam Ortiz (statehouse)", 18_500),
)
TABLOID = ("thecapitolscoop", "The Capitol Scoop", 38_000, "capitolscoop.example")
FORUM_HOST = "forum.northside.example"
CAMPAIGN_SITE = "campaign.example"
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example")

# --- mentions: originals, by subject kind and tone -------------------------------------------
MENTION = {
    ("candidate", "supportive"): (
        "Just got back from {cand}'s town hall. Actually answered every question, even the hard "
        "ones on {term}. Proud to vote for this one. {cand_tag}",
        "Knocked on 40 doors for {cand} this morning. People are tired of being ignored and "
        "{cand_last}'s plan on {term} is landing. {cand_tag}",
        "{cand} has been the only candidate talking seriously about {term}. That's why I'm in. "
        "{cand_tag} {link}",
        "Love seeing {cand} at the farmers market again, no handlers, just listening. {cand_tag}",
        "Great debate performance from {cand} tonight. Calm, specific, and finally someone with "
        "a real plan for {term}.",
        "Chipped in $25 to {cand}. Small donors are how we win this. {cand_tag} {link}",
    ),
    ("candidate", "critical"): (
        "{cand} keeps promising big on {term} but never says who pays. Not buying it.",
        "Watched the forum. {cand} dodged the {term} question twice. Disappointing.",
        "Another glossy mailer from {cand}, zero details. We deserve better than slogans.",
        "{cand_last}'s record on {term} is thin. Lots of talk, not much to show for it.",
        "Sorry but {cand} flip-flopping on {term} is a real problem for me.",
    ),
    ("candidate", "neutral"): (
        "{cand} will hold a town hall on {term} Thursday 7pm at the Eastside library. {link}",
        "New filing: {cand} reports {raised} raised this quarter, mostly small-dollar. {link}",
        "{cand} and {rival} meet for the second debate next week, {term} expected to dominate.",
        "Heard {cand} on the radio this morning talking about {term}. {cand_tag}",
    ),
    ("candidate", "question"): (
        "Honest question: what is {cand}'s actual position on {term}? Can't find it anywhere.",
        "Does anyone know if {cand} is doing events on the north side before the election?",
        "Has {cand} said how the {term} plan gets funded? Asking before I decide.",
        "Where can I sign up to volunteer for {cand}? {cand_tag}",
    ),
    ("rival", "supportive"): (
        "{rival} has the experience this district needs. Steady hands. {rival_tag}",
        "Solid answer from {rival} on {term} tonight. {rival_tag}",
        "Yard sign for {rival} is up. Let's go. {rival_tag}",
    ),
    ("rival", "critical"): (
        "{rival} voted against {term} funding three times and now wants credit for it? Come on.",
        "{rival}'s donor list is basically every developer in the county. Says it all.",
        "Did {rival} even show up to the {term} hearing? Asking for a few thousand neighbours.",
        "Weak showing from {rival} at the forum. Reading from notes on {term}, no ideas.",
    ),
    ("rival", "neutral"): (
        "{rival} picks up the Chamber of Commerce endorsement. {link}",
        "{rival} campaign announces a TV ad buy on {term}, first of the cycle. {link}",
    ),
    ("rival", "question"): (
        "Has {rival} ever explained that vote on {term}? Genuinely curious.",
        "What is {rival} actually proposing? The website is all photos.",
    ),
    ("issue", "supportive"): (
        "{term} is THE issue in this race. Every candidate should be made to answer for it. "
        "{issue_tag}",
        "Every family I know is feeling {term}. It's not complicated. {issue_tag} {link}",
        "Talked to my neighbours about {term} today. Everyone has a story. {issue_tag}",
        "Packed room at the {term} hearing tonight. People showed up. {issue_tag}",
        "Finally some momentum on {term}. Keep the pressure on. {issue_tag}",
    ),
    ("issue", "critical"): (
        "The {term} plan is a mess: over budget and years late. Someone has to say it.",
        "The {term} debate is going nowhere. Council keeps punting and we keep paying.",
        "Tired of hearing about {term} from people who never had to deal with it.",
    ),
    ("issue", "neutral"): (
        "New report on {term}: {pct}% of residents say it's their top concern. {link}",
        "Council vote on {term} pushed to next month. {link}",
        "Explainer: what the {term} ballot measure would and wouldn't do. {link}",
        "Public comment on {term} is open until Friday. {link} {issue_tag}",
    ),
    ("issue", "question"): (
        "Where do the {office} candidates stand on {term}? Any side-by-side out there?",
        "Is there a public hearing on {term} this month? Want to testify.",
        "Can someone explain what {term} would cost a typical household?",
    ),
}
COMPARE = (
    "{cand} vs {rival} on {term}: one has a plan, one has talking points. Not hard. {cand_tag}",
    "Watching {cand} and {rival} spar over {term}. {cand_last} clearly did the homework.",
    "Both {cand} and {rival} dodging on {term}. Pick a lane, please.",
)
SPANISH = (
    "Fui al evento de {cand_name} hoy. Habló claro sobre {term}. ¡Vamos! {cand_tag}",
    "¿Alguien sabe dónde se puede votar temprano? Quiero apoyar a {cand_name}.",
    "{term} nos afecta a todos en el barrio. Hay que exigir respuestas.",
)

# --- validators, news, replies -----------------------------------------------------------------
VALIDATOR = (
    "Proud to stand with {cand}. On {term}, no one in this race has done the homework like "
    "{cand_last}. {cand_tag}",
    "I've worked alongside {cand} for years. When {group} needed someone to show up, {cand_last} "
    "showed up. That's why I'm endorsing. {cand_tag} {link}",
    "Our community deserves a senator who listens. {cand} listens. Please join me: {link}",
    "Spent the afternoon with {cand} talking {term}. Specifics, not slogans. {issue_tag}",
    "Volunteers needed this Saturday for {cand}. Sign up here, bring a friend: {link} {cand_tag}",
)
BLOG_POST = (
    "New post: why {term} will decide this race, and where {cand} and {rival} stand. {link}",
    "I read both campaigns' {term} plans so you don't have to. One of them adds up. {link}",
    "Sat down with {cand} for an hour on {term}. Full interview on the blog: {link}",
)
NEWS = (
    "{cand} and {rival} clash over {term} in a heated forum. {link}",
    "Analysis: {term} emerges as the defining issue of the {office} race. {link}",
    "Poll: {cand} and {rival} within {pct_small} points as undecided voters weigh {term}. {link}",
    "{cand} unveils {amount} plan for {term}. {link}",
)
REPLY = {
    "supportive": (
        "Exactly this. And the {term} numbers back it up: {link}",
        "100%. Canvassed for {cand_last} last weekend, people are fired up.",
        "Agreed. This is why I'm voting {cand_last}.",
        "Well said. Sharing with my whole block.",
    ),
    "critical": (
        "Respectfully, that's not what the voting record says on {term}.",
        "And who pays for that? Serious question.",
        "This is spin. Look at the actual budget numbers.",
        "Nope. Heard the same promises last cycle.",
    ),
    "neutral": (
        "For context, the last time {term} came up the council split 5-4. {link}",
        "The full forum video is here if anyone wants the whole exchange: {link}",
        "Worth reading the actual proposal before deciding: {link}",
    ),
    "question": (
        "Source?",
        "Where can I read the actual {term} plan?",
        "When is the next town hall? Would love to ask about {term}.",
        "Is this on the record somewhere?",
    ),
    "low": ("This.", "🔥🔥", "lol", "👏👏👏", "So true", "Yep."),
}

# --- the scripted attack: a salacious story with its own hashtag and link ---------------------
STORIES = (
    {
        "tag": "{cand_last}Gate",
        "slug": "{cand_slug}-donor-emails",
        "claim": "Leaked emails appear to show {cand} steering a {term} contract to a major donor",
    },
    {
        "tag": "{cand_last}Files",
        "slug": "{cand_slug}-offshore-account",
        "claim": "Report claims {cand} hid $400K offshore while campaigning on {term}",
    },
    {
        "tag": "{cand_last}Tapes",
        "slug": "{cand_slug}-fundraiser-video",
        "claim": "Video surfaces of {cand} mocking {term} activists at a private fundraiser",
    },
)
STORY_ORIGIN = "BREAKING: {claim}. Full story: {story_link} #{story_tag}"
ATTACK = {
    "critical": (
        "{cand} wants our trust on {term} after THIS? Disgusting. #{story_tag}",
        "{cand} needs to answer for this today. No more dodging. #{story_tag}",
        "Same corrupt politics as always. #{story_tag}",
        "If this is true {cand} should drop out. Shameful. #{story_tag} {story_link}",
        "Everyone who defended {cand_last} owes us an apology. #{story_tag}",
        "Can't believe I almost voted for {cand}. What a fraud. #{story_tag}",
        "This is disgusting and {cand_last} knows it. #{story_tag}",
        "{cand_last} talked about {term} for a year and this is who they are? Shameful.",
        "Read the #{story_tag} piece. Corrupt, plain and simple. {story_link}",
        "My neighbours all backed {cand_last}. Not anymore. #{story_tag}",
        "A disgrace. {cand} owes this district an explanation. #{story_tag}",
        "So much for clean politics, {cand}. #{story_tag}",
    ),
    "question": (
        "Is this real?? {story_link}",
        "Anyone have a source on the #{story_tag} thing besides that one site?",
        "Has the {cand_last} campaign responded to #{story_tag} yet?",
        "Wait, is the #{story_tag} story confirmed by anyone else?",
        "Does {cand} plan to say anything about #{story_tag}?",
    ),
    "supportive": (
        "The #{story_tag} site launched last month. Read past the headline. {cand_tag}",
        "Zero named sources, zero documents. #{story_tag} is a smear.",
        "I know {cand_last}. This #{story_tag} thing is nonsense.",
        "Funny how #{story_tag} drops the week before the debate. {cand_tag}",
        "Still with {cand_last}. Show me a real source first. #{story_tag}",
        "Not one document in the #{story_tag} piece. Stop sharing it.",
    ),
}
# People piling on write in their own words: a template's core with an opener and a closer of
# their own, so two angry posts rarely read near-identical (coordinated ones do, below).
ATTACK_OPENERS = (
    "Wow.", "Ok so", "Just saw this.", "Unbelievable.", "Seriously?", "Well well.", "Yikes.",
    "Huh, okay.", "Hold on.", "Reading this now.", "My god.", "So apparently", "Great, just great.",
    "Not again.", "Oh come on.", "Here we go.", "Called it.", "Ugh.", "Honestly?", "Sigh.",
    "I can't even.", "Morning everyone.", "Wake up people:", "Breaking my heart.", "Lol what.",
    "Big if true.", "Friends,", "Well then.", "Real talk:", "Story time:",
)  # fmt: skip
ATTACK_CLOSERS = (
    "Sad.", "Unreal.", "Just wow.", "Do better.", "Pass it on.", "Wake up.", "I'm done.",
    "Unacceptable.", "Gross.", "Vote accordingly.", "Not ok.", "Ridiculous.", "Smh.",
    "Of course.", "Typical.", "Every single time.", "Embarrassing.", "Count me out.",
    "What a week.", "Noted for November.", "Thread below.", "Can't make this up.", "Yikes.",
    "Rethinking my vote.", "Absolutely not.", "Enough.", "So tired of this.", "Shame.",
    "Big mistake.", "Unbelievable, really.",
)  # fmt: skip
# A coordinated burst: one talking point pasted by a ring of new accounts within minutes, with
# the small edits such rings make so exact-duplicate filters miss them.
TALKING_POINTS = (
    "{cand} lied to every family in this district. The #{story_tag} emails prove it. "
    "{cand_last} must resign before election day.",
    "We the voters demand that {cand} step aside now. #{story_tag} shows who {cand_last} "
    "really works for, and it is not us.",
    "Share before it gets buried: {cand} was caught and the #{story_tag} files are real. "
    "Do not let {cand_last} near the senate.",
)
TALKING_POINT_EDITS = ("", "", "!!", " RT if you agree.", " 🇺🇸", " Retweet!", " #Resign")

# --- forum threads -------------------------------------------------------------------------------
THREAD_TITLES = {
    "issue": (
        "Where do the {office} candidates stand on {term}?",
        "{issue}: costs, timeline and who pays",
        "Town hall recap: {cand} on {term}",
        "Is anyone else worried about {term}?",
        "Data thread: what we actually know about {term}",
    ),
    "candidate": (
        "Has {cand} said anything concrete about the budget?",
        "Questions for {cand} before the next forum",
        "{cand} vs {rival}: honest comparison thread",
    ),
}
THREAD_OPEN = {
    "statement": (
        "I went through the {term} proposal page by page. The short version: it's funded for "
        "three years, after that it depends on the state match. Summary and sources: {link}",
        "Recap from last night's forum. {cand} committed to a vote on {term} in the first "
        "session; {rival} said it needs more study. Notes here: {link}",
        "Posting the numbers since people keep asking: {pct}% of the {term} budget goes to "
        "operations, the rest to capital. Table: {link}",
    ),
    "question": (
        "Genuine question, not trying to start a fight: how would the {term} plan affect renters "
        "on fixed incomes?",
        "Does anyone know if the candidates have answered the neighbourhood association's "
        "questionnaire on {term}?",
        "I'm new to the district. Can someone explain the history of the {term} fight?",
        "Is there a way to volunteer for a campaign just on weekends? Interested in {term}.",
    ),
}
THREAD_REPLY = {
    "argue": (
        "I see it differently. The {term} numbers assume growth that hasn't happened anywhere "
        "comparable. Look at the audit: {link}",
        "That ignores maintenance. Every plan looks cheap if you leave out year 10 onwards.",
        "The {rival} position isn't crazy though. Phasing it in would cost less up front.",
        "Strongly disagree. Waiting another cycle on {term} is the expensive option.",
    ),
    "answer": (
        "Short answer: yes. The plan caps increases for fixed-income households. Page 4: {link}",
        "The campaign answered this at the library forum, about 40 minutes in: {link}",
        "I asked {cand_last}'s office directly. They said the first vote would be in January.",
        "Good question. The county has a calculator for exactly this: {link}",
    ),
    "ask": (
        "Does that include the state match, or is that on top?",
        "Has anyone asked {rival} the same question?",
        "What happens if the federal grant falls through?",
    ),
    "background": (
        "For context, the last time this came up in 2019 it lost by 300 votes. Turnout was the "
        "whole story.",
        "Some background from the 2022 study, which both campaigns cite: {link}",
    ),
    "low": ("Great post!", "Thanks for sharing!", "+1", "Following.", "This!", "Bump", "Agreed 👍"),
}

# --- signups ------------------------------------------------------------------------------------
SIGNUP_FORMS = {
    "web": ("volunteer", "newsletter", "yard-sign", "donate-interest"),
    "event": ("event-rsvp", "canvass-shift"),
    "referral": ("volunteer", "phone-bank", "host-a-house-party"),
}
UTM_SOURCES = (("x", "social"), ("facebook", "social"), ("newsletter", "email"),
               ("google", "cpc"), ("mastodon", "social"), ("forum", "referral"))  # fmt: skip
REGIONS = (("WA", 0.86), ("OR", 0.07), ("ID", 0.03), ("CA", 0.04))
POSTAL_PREFIXES = {"WA": ("980", "981", "982", "983", "984"), "OR": ("970", "972"),
                   "ID": ("838",), "CA": ("940", "945")}  # fmt: skip
QUOTE = {
    "supportive": ("Read this. 👇", "Worth your two minutes.", "Yes!! {cand_tag}", "Exactly."),
    "critical": ("Yikes.", "This is bad.", "Can't defend this.", "Well, that's a problem."),
    "neutral": ("Interesting.", "FYI", "Saving this for later."),
    "question": ("Is this accurate?", "Anyone confirm?", "Thoughts?"),
}
FRESH_ACCOUNT_WORDS = ("patriot", "truthseeker", "realvoter", "concerned", "wakeup", "justasking")
