"""Cues the plain-text parser recognises, as data: one place to add a site's wording.

Every pattern is matched against one stripped line, case-insensitively. Add a phrase
here, not an ``if`` in the parser.
"""

from __future__ import annotations

import re


def _compile(*patterns: str) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_NUMBER_WORDS = r"\d[\d,]*|no|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"

# "9 Responses to “Title”", "14 comments:", "7 thoughts on “Title”", "Comments (5)",
# "Responses (4)", "Discussion", "23 Comments · Sort by Best"
THREAD_HEADING = _compile(
    rf"^(?P<count>{_NUMBER_WORDS})\s+(?:responses?|comments?|thoughts?|replies|reply|reactions?"
    r"|repl(?:y|ies)|opinions?)\b\s*(?:(?:to|on|about|for)\s+(?P<title>.+?))?\s*[:.]?"
    r"\s*(?:[·•|].*)?$",
    r"^(?:comments?|responses?|replies|discussion|reader comments|reactions?)"
    r"\s*(?:\((?P<count2>\d[\d,]*)\))?\s*:?$",
    r"^(?P<count3>\d[\d,]*)\s+(?:responses?|comments?|replies)\s+(?:so far|and counting)\b.*$",
)

# Lines after which the article body is over (author boxes, related lists, forms).
END_OF_ARTICLE = _compile(
    r"^about\s+(?:the\s+)?author\b.*$",
    r"^about\s+(?P<about_name>[A-Z][\w'’.\-]+(?:\s+[A-Z][\w'’.\-]+){0,3})(?:,\s*[A-Z][\w.]*)?\s*$",
    r"^(?:related|recommended|popular|recent|more)\s+(?:articles?|posts?|stories|reading|content|from\b.*)\s*:?$",
    r"^you\s+(?:might|may)\s+also\s+(?:like|enjoy)\b.*$",
    r"^(?:leave|post|add|write)\s+a\s+(?:reply|comment|response)\b.*$",
    r"^share\s+this(?:\s+(?:article|post|story|page))?\s*:?$",
    r"^(?:tags|labels|filed under|posted in|categories|topics)\s*:.*$",
    r"^(?:posted in|filed under|tagged|tagged with)\s+\S.*$",
    r"^(?:newer|older)\s+posts?\b.*$",
    r"^sign up for (?:our|the)\b.*newsletter.*$",
    r"^share\s*:.*$",
    r"^written\s+by\s+(?P<written_name>[A-ZÀ-Þ][\w'’.\-]+(?:\s+[A-ZÀ-Þ][\w'’.\-]+){0,3})\s*$",
    r"^(?:comments are closed|comments are disabled)\b.*$",
)

# Lines that end a comment thread (what follows is forms and footers).
END_OF_THREAD = _compile(
    r"^(?:leave|post|add|write)\s+a\s+(?:reply|comment|response)\b.*$",
    r"^(?:newer|older)\s+posts?\b.*$",
    r"^comments\s+are\s+closed\.?$",
    r"^fill in your details below\b.*$",
    r"^you must be logged in to post\b.*$",
    r"^subscribe to:\s*post comments.*$",
    r"^(?:load|show)\s+more\s+comments\b.*$",
    r"^(?:©|\(c\)|copyright)\s.*$",
    r"^(?:related|recommended|popular|recent|more)\s+(?:articles?|posts?|stories|reading)\s*:?$",
    r"^%d bloggers like this.*$",
    r"^post navigation$",
    r"^(?:see all|view all|show all)\s+(?:responses|comments|replies)\b.*$",
    r"^more from\s+.+$",
    r"^«?\s*previous thread\b.*$",
    r"^posting permissions$",
    r"^also on\s+.+$",
)

# Bylines: "By Jane Roe, Senior Analyst", "Posted by Ray at 10:42 AM", "Written by …"
BYLINE = re.compile(
    r"^(?:[•·*\-–—|]\s*)?(?i:posted\s+by|written\s+by|words\s+by|by|author\s*:|von|par"
    r"|started\s+by)\s+(?P<rest>[A-ZÀ-Þ@\w].*)$"
)
# "Thread: Title", "Topic: Title", "Subject: Title" on forums
TITLE_PREFIX = re.compile(r"^(?:thread|topic|subject)\s*:\s*(?P<title>.+)$", re.IGNORECASE)
# badges between a commenter's name and the date: "Post author", "Author", "Moderator"
BADGE = re.compile(
    r"^(?:post author|author|op|original poster|moderator|admin|administrator|staff|verified"
    r"|top commenter|top fan|editor)$",
    re.IGNORECASE,
)

# Site furniture: navigation, share bars, images, ads, sign-in and subscription blurbs.
FURNITURE = _compile(
    r"^(?:article\s+)?(?:featured\s+)?image$|^(?:photo|image|credit|source|illustration)\s*(?:credit)?\s*:.*$",
    r"^(?:home|menu|search|skip to (?:main )?content|toggle navigation|close|open menu)$",
    r"^(?:share|tweet|email|print|save|follow|subscribe|like|comment|copy link|listen)"
    r"(?:\s+(?:on|this|now|to)\b.*)?$",
    r"^(?:advertisement|sponsored|sponsored content|ad)$",
    r"^\d+\s+min(?:ute)?s?\s+read\b.*$",
    r"^(?:sign in|log in|login|register|sign up|create (?:an )?account|my account)(?:\s*[|/·]\s*.*)?$",
    r".*\b(?:subscribe now|current issue|past issues|qualified subscribers|free subscription"
    r"|newsletter|unsubscribe)\b.*",
    r".*\bcookies?\b.*\b(?:accept|consent|policy|settings|use)\b.*",
    r"^(?:accept|accept all|reject all|got it|ok|manage (?:preferences|cookies))$",
    r"^(?:all rights reserved|privacy policy|terms of (?:use|service)|contact us|about us)\b.*$",
    r"^(?:©|\(c\)|copyright)\s.*$",
    r"^[\w&']+(?:\s*(?:[|·•/]|\s{2,})\s*[\w&']+){3,}$",  # nav bars: "Home | News | Opinion | Events"
    r"^(?:powered by|proudly powered by|theme:?)\b.*$",
    r"^(?:covers?|crm covers|magazine covers?)$|^\S+\s+covers$",
    r"^related\s*:.*$",
    r"^-{2,}$|^\d[\d.,]*[km]?$",
    r".*\b(?:photo|image|illustration|picture)(?:\s+credit)?\s*:\s*[\w .&/-]{2,60}$",
    r"^(?:open in app|write|listen|follow|following|sign up|sign in|get started)$",
    r".*\bcookies?\b.*\b(?:accept|consent|policy|settings|use|learn more)\b.*",
    r".*\b(?:uses?|accept)\b.*\bcookies\b.*",
    r"^(?:got it!?|i agree|agree|dismiss)$",
    r"^skip to (?:main )?content$",
)

# Lines inside a comment that are controls, not what the person wrote.
COMMENT_FURNITURE = _compile(
    r"^(?:reply|reply ↓|↳\s*reply|log in to reply|login to reply|delete|edit|report|flag|share"
    r"|permalink|link|quote|multi-quote|like|unlike|upvote|downvote|top|back to top"
    r"|view replies|hide replies|show replies|see more|read more|show more|translate)$",
    r"^(?:\d[\d,.]*k?)\s*(?:likes?|claps?|votes?|points?|repl(?:y|ies))?$",
    r"^(?:likes?|liked by)\s*(?:\(\d+\)|\d+|by\s+.+)$",
    r"^(?:join date|posts|location|reputation|thanks|rep power|member since|joined)\s*:.*$",
    r"^(?:member|junior member|senior member|new member|moderator|administrator|admin"
    r"|registered user|guest|banned|veteran|regular)$",
    r"^(?:sort by|sorted by)\b.*$",
    r"^reply with quote$|^quick reply$|^multi-quote this message$",
    r"^what are your thoughts\??$|^join the discussion.*$",
    r"^(?:\d+\s+)?(?:people|person)\s+liked\s+this\.?$",
)

# Comment starts.
SAYS = re.compile(
    r"^(?P<author>[^\s].{0,80}?)\s+(?:on\s+(?P<date>.+?)\s+)?"
    r"(?:says|said|wrote|writes|replied|replies|commented|dit|schreibt|schrieb)"
    r"\s*(?:\.\.\.|…|:)?\s*$",
    re.IGNORECASE,
)
NUMBERED = re.compile(r"^(?P<number>\d{1,4})[.)]\s+(?P<rest>\S.*)$")
BULLET = re.compile(r"^(?P<bullet>[•◦▪‣○●·∙*–\-↳])\s*(?P<rest>\S.*)$")
FORUM_POST_NUMBER = re.compile(r"^(?:#|post\s*#?|permalink\s*#?)(?P<number>\d{1,5})$", re.IGNORECASE)
PINGBACK = re.compile(r"^(?P<kind>pingback|trackback)\s*[:\-–]\s*(?P<rest>.*)$", re.IGNORECASE)
QUOTE_HEADER = re.compile(
    r"^(?:quote\s*:?\s*)?(?:originally\s+posted\s+by|quote\s+from|quoting)\s+(?P<name>.+?)\s*:?$"
    r"|^quote\s*:?$",
    re.IGNORECASE,
)
# "in reply to Ray", "Replying to @ray", "↳ Reply to Jo" (reply markup, not inference)
IN_REPLY_TO = re.compile(
    r"^(?:↳\s*)?(?:in\s+reply\s+to|replying\s+to|reply\s+to|replied\s+to)\s+@?(?P<name>.+?)\.?$",
    re.IGNORECASE,
)
NAME_AND_DATE = re.compile(r"^(?P<author>.+?)\s*(?:\s[•·|—–-]\s|\s+on\s+)\s*(?P<date>.+)$")

# A person's name as displayed: up to five words, or a handle.
NAME = re.compile(r"^@?[\w'’.\-]+(?:\s+[\w'’.\-@()]+){0,4}$")
NOT_NAMES = frozenset({
    "thanks", "thank", "cheers", "regards", "best", "great", "hi", "hello", "hey", "yes", "no",
    "agreed", "exactly", "indeed", "well", "ok", "okay", "the", "and", "but", "so", "this",
    "that", "i", "we", "you", "it", "what", "why", "how", "who", "where", "when", "reply",
})
# A signature on its own line at the end of an unsigned comment:
# "Walter Adamson @g2m", "— Dana Whitfield, CX lead at Acme", "-- Jo"
SIGNATURE = re.compile(
    r"^(?:[-—–~]+\s*)?(?P<name>[A-Z][\w'’.\-]+(?:\s+[A-Z][\w'’.\-]+){0,3})"
    r"(?:\s+(?P<handle>@\w+))?(?:\s*[,|]\s*(?P<role>[^.!?]{2,80}))?$"
)
