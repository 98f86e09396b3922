"""A generated local web for the focused crawler's tests and benchmark: three sites, each a
real HTTP server on 127.0.0.1 (its own port), with articles on and off the topic of the CX
ownership debates ("who owns customer experience?", "is CX an outcome or a function?").

Usage::

    from crawlweb import crawl_web

    with crawl_web(seed=7) as web:
        start = web.blog.url("/")                 # or web.magazine.url("/")
        ...crawl...
        assert web.on_topic <= fetched            # every on-topic article page
        web.add_comment(url, "Ann Lee", "CX is an outcome.")   # body, ETag, Last-Modified change
        for site, request in web.requests(): ...

The sites
- **blog** ("Frontline Notes", WordPress classic-theme markup): posts at ``/YYYY/MM/slug/`` with
  threaded comments (``<ol class="commentlist">``), related posts, prev/next links, sidebar
  widgets; home and ``/page/N/``; monthly archives ``/YYYY/MM/`` (+ ``page/N/``), categories
  ``/category/x/`` (+ ``page/N/``), tags, authors, about, contact; ``robots.txt`` announcing
  ``/sitemap_index.xml`` -> ``/post-sitemap.xml`` + ``/page-sitemap.xml``; RSS ``/feed/``
  (10 newest). Print versions ``<post>?print=1`` of some posts (near-duplicates).
- **magazine** ("Business Practice Review"): articles ``/articles/<id>`` (no trailing slash;
  ``/articles/<id>/`` 301s to it) with ``<aside class="related-articles">``; sections
  ``/section/x/`` and ``?page=N``; author pages; ``/sitemap.xml`` (not in robots.txt, which
  disallows ``/admin/``, linked from the footer); Atom ``/feed.atom``; old addresses
  ``/story/<old>`` (301), ``/go/editors-pick`` (302 -> 301 chain), a loop ``/loop/a`` <->
  ``/loop/b``, dead links (404) and ``/archive/`` (500); two syndicated copies of blog posts.
- **consultancy** ("Northbeam Partners"): services, case studies, careers, team, insights
  (6 on topic), reached only through links from the other two sites.

Traps (not counted as pages): the blog's ``/calendar/?month=YYYY-MM`` (endless prev/next),
the consultancy's ``/events/?day=YYYY-MM-DD`` (endless next day), ``?replytocom=N`` on
every blog comment's Reply link, ``?sid=<hex>`` (new on every render) on the blog's
"Popular posts" links, ``;jsessionid=<HEX>`` in the path of the blog's "Continue reading"
links, ``utm_*`` parameters, ``#comments`` fragments and missing trailing slashes (301).

Every page, feed and sitemap answer carries an ``ETag`` (a hash of the page with its session
ids left out, so it is stable between renders) and ``Last-Modified``, and answers
``If-None-Match`` / ``If-Modified-Since`` with 304. Everything is generated from one seed.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from httpserver import LocalServer, Request

HTML = "text/html; charset=utf-8"
XML = "application/xml"
RSS = "application/rss+xml"
ATOM = "application/atom+xml"
TEXT = "text/plain; charset=utf-8"
SID = "%%SID%%"    # replaced by a fresh hex token on every render (not part of the ETag)
JSID = "%%JSID%%"

BLOG_NAME = "Frontline Notes"
MAG_NAME = "Business Practice Review"
CONS_NAME = "Northbeam Partners"

# --------------------------------------------------------------------------- text pools

FILL: dict[str, list[str]] = {
    "co": ["Harbor Mutual", "Larkfield Energy", "Brightwater Bank", "Tessel Telecom",
           "Ostrander Insurance", "Meridian Health", "Copperline Retail", "Northgate Airlines",
           "Fernhill Foods", "Quillon Software", "Ashby & Vale", "Pinecrest Utilities",
           "Rowan Logistics", "Silverleaf Hotels", "Kestrel Mobile", "Dunmore Building Society",
           "Alder Street Grocers", "Brookmoor Rail"],
    "ind": ["banking", "insurance", "telecoms", "retail", "utilities", "healthcare", "software",
            "hospitality", "air travel", "logistics", "grocery"],
    "num": ["three", "four", "five", "six", "seven", "eight", "nine"],
    "num_cap": ["Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten"],
    "weeks": ["six weeks", "eight weeks", "two months", "ten weeks", "three months", "a month"],
    "city": ["Chicago", "Manchester", "Amsterdam", "Toronto", "Austin", "Dublin", "Melbourne",
             "Denver", "Lisbon", "Leeds", "Atlanta", "Copenhagen"],
    "role": ["head of customer service", "chief marketing officer", "VP of operations",
             "chief customer officer", "director of customer experience", "chief operating officer",
             "head of digital", "head of insight", "COO", "service director"],
}
FIRST = ["Maya", "Tom", "Julia", "Ray", "Priya", "Walter", "Eric", "Tim", "Grace", "Omar",
         "Helen", "Marcus", "Ines", "Daniel", "Sofia", "Kwame", "Laura", "Ben", "Aisha", "Pete",
         "Chloe", "Ravi", "Nina", "Stefan", "Hannah", "Luis", "Fiona", "Jonas", "Mei", "Sam"]
LAST = ["Lindqvist", "Okafor", "Brandt", "Castillo", "Moreau", "Patel", "Reilly", "Novak",
        "Hughes", "Ferreira", "Kowalski", "Adeyemi", "Sato", "Larsen", "Whitfield", "Duarte",
        "Bauer", "Mensah", "Quinn", "Haddad", "Eriksen", "Fischer", "Nakamura", "Oduya"]


def _slot(rng: random.Random, key: str) -> str:
    if key == "pct":
        return str(rng.randint(12, 78))
    if key == "small":
        return str(rng.randint(2, 9))
    if key == "n":
        return str(rng.randint(3, 12))
    if key == "big":
        return str(rng.choice(range(40, 900, 10)))
    if key == "yr":
        return str(rng.randint(2014, 2021))
    if key == "person":
        return f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    return rng.choice(FILL[key])


class _Slots(dict[str, str]):
    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> str:
        self[key] = value = _slot(self.rng, key)
        return value


def fill(rng: random.Random, template: str) -> str:
    return template.format_map(_Slots(rng))


# The debate, by angle. Practitioners' voice; slots in braces.
ON_TOPIC: dict[str, list[str]] = {
    "outcome": [
        "Customer experience is an outcome, not a department: it is what customers perceive after every decision the company has already made.",
        "Organisations don't have customer experiences; customers do, and they have them whether or not anyone at {co} is managing them.",
        "You can run a marketing department or a finance team, but nobody really 'does' customer experience the way they do payroll.",
        "What the customer feels at the end of a claim is the sum of pricing, policy wording, IT and the person on the phone, which is why I keep calling it a result.",
        "The experience is the output; the work that shapes it happens in product, operations, billing and the contact centre.",
        "Calling CX a function tempts executives to hand it to a small team and assume the problem is now handled.",
        "If the experience is the result of everything the company does, the real question is how each function is held to account for its part of that result.",
        "A customer never experiences your org chart; they experience a delivery that was late and a refund that took {num} weeks.",
        "The distinction matters: customer experience is the outcome, while customer experience management is the set of practices a company uses to influence it.",
        "I have never seen a CX team fix an experience that the billing system keeps breaking every month.",
        "Treat the experience as the scoreboard, not as one of the players.",
        "When {co} reorganised around journeys, the first thing they dropped was the idea that one team produces the experience.",
        "The outcome view is uncomfortable for executives because it leaves nobody to blame except all of them.",
        "An experience happens in the customer's head, so by definition no department can ship it.",
        "Saying that CX is a result rather than a role is not a dodge; it tells you to look for the causes across the whole business.",
    ],
    "function": [
        "Customer experience is a real function now, with its own budget lines, job titles and career paths.",
        "At {co}, CX became a discipline in its own right once it had a research team, a journey design practice and a seat in the quarterly planning cycle.",
        "We do sales, we do accounting, we do marketing, and increasingly we do customer experience, with the same rigour and the same reporting lines.",
        "A function needs a mandate, a budget and people whose job description says so; without those, CX stays a slogan on a poster.",
        "Someone has to maintain the journey maps, run the voice-of-the-customer programme and chase the fixes, and that is a job, not a mood.",
        "Treating CX as a function does not mean one team owns every touchpoint; it means one team owns the method.",
        "When nobody's objectives mention the customer experience, it quietly becomes nobody's work.",
        "The CX function I built at {co} had {n} people and a clear charter: measure, diagnose, and broker the fixes with the teams that own the processes.",
        "Like finance, a CX function sets standards that everyone else works to, even though finance does not spend most of the money.",
        "Customer experience management is a business capability, and capabilities need owners.",
        "Without a function behind it, the experience becomes whatever falls out of each department's own priorities.",
        "Professionalising CX, with certifications and standard methods, only makes sense if there is a function to professionalise.",
        "The bottom line for me is that customer experience has become a function, whatever we thought of the idea ten years ago.",
    ],
    "dedicated": [
        "A chief customer officer only works if the role comes with real authority over operations, not just a dashboard and a newsletter.",
        "The case for a CCO is simple: somebody on the executive team should be paid to worry about the whole customer journey, end to end.",
        "At {co}, the chief customer officer reports to the CEO and signs off on any change that touches more than one channel.",
        "I have watched three CCO roles disappear within two years, each time because the role had influence but no budget.",
        "Give one senior executive ownership of the customer experience and you give the rest of the board someone to hand the problem to.",
        "The strongest argument for a single owner is accountability: when the experience gets worse, one person has to explain why.",
        "A dedicated CX leader is a translator between the silos, and translation is a full-time job in a company of {big} thousand people.",
        "Some companies appoint a CCO as a signal to investors, and the customers can tell the difference.",
        "The chief customer officer should own the measurement and the cross-functional roadmap, while each department keeps ownership of its own processes.",
        "The first hundred days of a new CCO usually decide whether the role becomes an owner or a spectator.",
        "A senior executive responsible for the measurable value of every customer relationship is easier to justify than it was a decade ago.",
    ],
    "marketing_service": [
        "Marketing wants CX because it owns the brand promise; service wants it because service deals with what happens when the promise breaks.",
        "In our survey, {pct}% of firms said marketing held primary responsibility for the customer experience, slightly more than said customer service did.",
        "Handing customer experience to marketing tends to produce beautiful journey maps and unchanged call queues.",
        "Putting CX under the head of service keeps it close to the complaints, but it also keeps it away from product and pricing decisions.",
        "Operations has the strongest claim in my view, because most bad experiences are process failures, not brand failures.",
        "The marketing-versus-service tug of war is really a fight about budget, dressed up as a fight about the customer.",
        "When {co} moved CX from marketing into operations, the measurement programme survived but the advertising around it did not.",
        "You still can't have marketing take complete control, because somebody has to run the operation that delivers on the promise.",
        "Service leaders argue they see the customer every day; marketers argue they define who the customer is; both are right, which is the problem.",
        "A CMO who owns CX has to care about retention as much as acquisition, and most marketing scorecards do not reward that.",
        "The debate over whether CX belongs to marketing, service or operations usually ends in a compromise that nobody is accountable for.",
        "In {ind}, the contact centre tends to win the argument, simply because it holds most of the customer data.",
    ],
    "shared": [
        "Everyone owns customer experience, which in practice often means that no one does.",
        "CX is not a department; it is the way every department does its work.",
        "Shared ownership works only when each function has a customer metric in its own scorecard, not just a line in the values statement.",
        "At {co}, every executive carries one journey, so ownership is shared but nobody can hide.",
        "The right mix is somewhere between a central team and the line: the centre sets the method, the departments own the fixes.",
        "'It's everyone's job' is true, and it is also the sentence people use when they do not want to fund it.",
        "Customer experience is a culture rather than a function, and cultures are owned by leaders collectively, not by a team of {n}.",
        "The companies that get this right treat CX as a shared outcome with a small coordinating function, not as a choice between the two.",
        "If the experience spans six departments, ownership has to span them too, with a governance forum that can actually decide things.",
        "Shared ownership without shared incentives is just a polite way of saying it is still nobody's problem.",
        "The frontline already owns the experience in the only sense that matters to the customer.",
    ],
    "accountability": [
        "Ownership is really a question of accountability: whose bonus moves when satisfaction drops?",
        "If CX is an outcome, measure it like one, and assign the levers to the functions that control them.",
        "We tied {pct}% of every director's variable pay to journey-level satisfaction, and the ownership debate went quiet within a year.",
        "An owner without levers is just a reporter of bad news.",
        "The question of who owns CX usually comes up right after a bad quarter, when people want someone to answer for the scores.",
        "Governance sounds dull, but a monthly forum where the COO, the CMO and the head of service review the same journey data settles more ownership arguments than any org chart.",
        "Accountability for the experience should sit with whoever can change the process, not whoever publishes the survey results.",
        "The metric you choose tells you who you think owns the experience: NPS points to marketing, first-contact resolution points to service.",
    ],
    "framing": [
        "Every few months the same question comes back: who actually owns the customer experience?",
        "The argument about whether CX is an outcome or a function is not academic; it decides where the budget sits.",
        "Two camps keep talking past each other: one treats CX as the result of everything a company does, the other as a job somebody is hired to do.",
        "Most of the confusion comes from using one phrase for two things, the experience itself and the discipline of managing it.",
        "A few years ago a survey found that only {pct}% of large companies had a single executive responsible for the customer experience across the business.",
        "The ownership question looks different in {ind}, where the frontline and the product are almost the same thing.",
        "I put the question to a room of {big} practitioners last month, and the hands split almost evenly between 'a dedicated team' and 'everyone'.",
        "Asking who owns CX is a bit like asking who owns quality; the answer reveals how the company thinks about itself.",
        "The org chart answer and the customer's answer to 'who owns this?' are rarely the same.",
        "There is no ownership model for customer experience that survives a CEO who does not care about customers.",
        "It is worth separating three questions: who is accountable for the experience, who coordinates the work, and who actually does it.",
        "Centralise CX too much and it becomes a reporting function; decentralise it too much and it becomes a slogan.",
        "The same debate played out on a long comment thread years ago, and the positions have hardly moved since.",
    ],
}
ON_QUOTES = [
    "We stopped arguing about who owns CX when we agreed it was an outcome we all answer for",
    "My team doesn't own the experience; we own the method for improving it",
    "If I can't change the billing process, I don't own the experience, I just report on it",
    "Marketing made the promise, so marketing should pay for keeping it",
    "The contact centre sees every broken process first, which is why CX sits with us",
    "A chief customer officer without a budget is a very expensive conscience",
    "Customer experience is a function the same way finance is: it sets the rules, it doesn't do all the work",
    "Everybody owns it, and I make sure everybody knows what that means on Monday morning",
    "The experience is what happens; our job is to make sure it happens on purpose",
    "Putting CX in one department was the fastest way to make everyone else stop caring",
    "Nobody in this building does customer experience; our customers have it, good or bad",
]
ON_TITLES = [
    "Who really owns the customer experience?",
    "CX is an outcome. Stop trying to staff it",
    "The case for a chief customer officer, revisited",
    "Marketing, service or operations: where should CX live?",
    "Everyone owns CX, so who do I call?",
    "Customer experience is a function now. Deal with it",
    "Outcome or function? Why the answer decides your budget",
    "What a CCO can and cannot own",
    "Shared ownership of CX needs shared incentives",
    "Why our CX team stopped calling itself a department",
    "Accountability without authority: the CX leader's dilemma",
    "The CX org chart debate, ten years on",
    "Putting customer experience under operations: a year later",
    "Is CX everyone's job? Yes, and that's the problem",
    "Does customer experience belong in marketing?",
    "Stop asking who owns CX; ask who owns the fix",
    "CX management is a function; CX is not",
    "Centralise or federate? Structuring customer experience",
    "What the surveys say about CX ownership",
    "The chief customer officer is not a mascot",
    "Why service leaders want CX, and marketers want it more",
    "Customer experience as a result, not a role",
    "A dedicated CX team, or a culture? Both, eventually",
    "Who should be accountable when satisfaction falls?",
    "The uneasy truce between marketing and service",
    "Building a CX function that doesn't own everything",
    "Governance: the unglamorous answer to the ownership question",
    "Why I changed my mind about the CCO role",
    "Outcome thinking for CX leaders",
    "Nobody does customer experience. Customers have it",
    # generic titles: the words give nothing away
    "A few thoughts after the summit",
    "Notes from a long week in {city}",
    "What I got wrong last year",
    "Three conversations I keep having",
    "Monday memo: the question that won't go away",
    "Reader mailbag, answered",
    "Where I've landed after fifteen years",
    "An argument over dinner",
    "Lessons from the reorg",
    "Revisiting an old post",
    "The question behind the question",
    "What our board asked us",
    "Field notes, spring edition",
]
ON_COMMENTS = [
    "Great post. I'd still call CX an outcome: you can't 'do' it the way you do accounting.",
    "We tried a central CX team for two years. It worked only once each department had its own targets.",
    "Agree with the point about budget. A CCO without budget is a spectator.",
    "Marketing owned CX at my last company and the call centre never noticed the difference.",
    "It's both, surely. The function exists so that the outcome becomes someone's job.",
    "Service should own it. They are the only ones who hear from customers every day.",
    "Everyone owns it means nobody owns it. Give it to one exec and measure them on it.",
    "I think the question is badly framed. Owning the method and owning the result are different things.",
    "Our CCO reports to the COO, and honestly that has worked better than reporting to the CEO.",
    "Customers don't care who owns it. They care that the refund arrives.",
    "The shared model only works with shared incentives, as you say.",
    "Operations, every time. Most bad experiences are broken processes.",
    "Interesting that the survey numbers have barely moved in ten years.",
    "We call it a capability rather than a function. Small difference, but it changed the conversations.",
    "I'd push back a little: a dedicated team can become an excuse for everyone else to stop caring.",
    "Loved the line about the scoreboard and the players.",
    "This matches what we saw in {ind}. The frontline owned it whether the org chart agreed or not.",
    "CX is a result. CX management is a job. Mixing the two up is where the arguments start.",
    "Our marketing team would love to own it, right up until the complaints arrive.",
    "A single accountable executive changed everything for us. Before that it was a committee.",
    "Not sure I agree. Without a team behind it, 'everyone's job' is just a poster in the lift.",
    "Both camps are right, which is why nobody wins this argument.",
]

# Off-topic themes: near misses (customers, but not the debate) and plain off-topic ones.
THEMES: dict[str, dict[str, list[str]]] = {
    "cs_hiring": {
        "titles": ["Hiring for the service desk: what we look for now",
                   "{num_cap} interview questions for customer service agents",
                   "Why we stopped hiring agents for product knowledge",
                   "Building a customer service team from scratch in {city}",
                   "The onboarding plan for new support agents"],
        "s": [
            "We interviewed {big} candidates for {n} customer service roles this spring, and the strongest predictor of success was not experience.",
            "Product knowledge can be taught in {weeks}; patience with an angry caller mostly cannot.",
            "Our role-play exercise asks candidates to handle a customer whose parcel has gone missing for the second time.",
            "Agents who write clearly in email tend to do better on chat, so we now include a short writing test.",
            "Shift patterns matter more to applicants than we expected, especially for evening and weekend cover.",
            "The first {weeks} on the desk are shadowing, then supervised calls, then a gradual move to the live queue.",
            "Attrition in the first ninety days fell by a third once we were honest in the job ad about call volumes.",
            "We score every candidate on the same rubric, so two interviewers can compare notes without arguing about gut feel.",
            "A good service hire asks clarifying questions before offering a fix, which is exactly what we want them to do with customers.",
            "Pay bands for customer service roles in {city} have risen faster than inflation for three years running.",
            "Team leads now spend one afternoon a week coaching on recorded calls rather than reviewing spreadsheets.",
            "We dropped the requirement for a degree and our applicant pool doubled overnight.",
            "Bilingual agents are hard to find, so we partner with a local college to train them.",
            "Onboarding includes a day in the warehouse so new agents understand what happens after a customer places an order.",
            "Our best agents were often people who had worked in restaurants or shops before.",
        ]},
    "cdp": {
        "titles": ["Choosing a customer data platform: our shortlist and what we learned",
                   "CDP, CRM or warehouse? A buyer's notes",
                   "What nobody tells you about customer data platform contracts",
                   "The single customer view, two years in",
                   "Identity resolution is the whole game", "Buying a CDP in {num} steps"],
        "s": [
            "We evaluated {n} customer data platforms over {weeks}, and the demos were far more alike than the contracts.",
            "The first question to ask a CDP vendor is how identities are resolved when a customer uses two email addresses.",
            "Our data warehouse already held most of the customer records, so a composable setup made more sense than a packaged suite.",
            "Pricing by profile count looked cheap until we realised how many anonymous visitors would be counted as profiles.",
            "Consent flags have to travel with every customer record, or the platform becomes a compliance risk.",
            "The integration with the email tool took longer than the rest of the implementation combined.",
            "Real-time segments sound impressive, but most of our campaigns run perfectly well on a nightly refresh.",
            "We asked each vendor to load a sample of {big} thousand customer records and show us the match rate.",
            "A customer data platform does not fix bad source data; it just makes the mess easier to see.",
            "Ask for the exit terms before you sign: getting your customer data back out should not need a services contract.",
            "The marketing team wanted audience building, while IT cared about schema control and access logs.",
            "After a year, the main benefit was fewer spreadsheets passed between the analytics and campaign teams.",
            "Deduplication rules need an owner in the data team, or they drift with every new source system.",
            "Reference calls with existing customers of each vendor were more useful than any analyst report.",
        ]},
    "checkout": {
        "titles": ["Checkout conversion: {num} fixes that moved the number",
                   "Great customer experience starts at checkout: what our A/B tests showed",
                   "Why guest checkout beat account creation for us",
                   "Shaving seconds off the payment page",
                   "Why shoppers abandon baskets, in our own data", "Digital wallets and the mobile checkout"],
        "s": [
            "Our checkout conversion rate rose by {small} percentage points after we removed the mandatory account step.",
            "Every extra form field on the payment page costs you customers, and the address lookup alone saved us a full step.",
            "Shipping costs revealed late in the funnel remain the biggest cause of abandoned baskets in our data.",
            "We tested a one-page checkout against a three-step flow for {weeks}, and the difference was smaller than the agency promised.",
            "Adding digital wallets lifted mobile conversion more than any copy change we tried.",
            "Trust badges near the card field had no measurable effect once we controlled for traffic source.",
            "Page speed on the payment step matters more than anywhere else on the site.",
            "Customers who saw an estimated delivery date before paying were noticeably more likely to complete the order.",
            "The error message for a declined card used to blame the customer; rewriting it cut support tickets too.",
            "Abandoned-basket emails recovered about {pct}% of the orders they targeted, mostly within the first two hours.",
            "We now monitor checkout funnels by device and browser, because a single broken browser release cost us a weekend of sales.",
            "Promo code boxes send people off to search for codes, so we moved ours behind a small link.",
            "Saved cards for returning customers did more for repeat orders than the loyalty discount.",
        ]},
    "loyalty": {
        "titles": ["The economics of a loyalty card, explained with our own numbers",
                   "Are points programmes worth it? Notes from a grocery chain",
                   "What a loyalty scheme really costs per customer",
                   "The customer experience of a loyalty card: the maths behind the points",
                   "Breakage, liabilities and the true cost of points", "When a retailer cuts its points rate"],
        "s": [
            "A loyalty card costs far more than the plastic: the real cost is the discount liability sitting on the balance sheet.",
            "Breakage, the points customers never redeem, quietly funds a large share of most schemes.",
            "When {co} cut its points rate by a third, basket sizes barely moved, which tells you how much the points were really doing.",
            "The data from the card is usually worth more to the retailer than the rewards are worth to the shopper.",
            "Tiered schemes encourage customers to consolidate spend, but only if the next tier feels reachable.",
            "We modelled the programme's return over three years and it only paid back if redemption stayed below {pct}%.",
            "Partner points, earned at a petrol station and spent at the supermarket, complicate the accounting enormously.",
            "Personalised offers outperform blanket discounts, but they need a decent analytics team to run them.",
            "Members spend more than non-members, but much of that is because big spenders are the ones who sign up.",
            "Ending a loyalty scheme is harder than starting one; customers treat accrued points as money they are owed.",
            "Finance teams should treat unredeemed points as a liability from day one, not as a surprise at year end.",
            "The scheme's best feature turned out to be the receipts in the app, not the rewards.",
            "Coalition schemes spread the cost across partners but make every change a negotiation.",
        ]},
    "crm": {
        "titles": ["Our CRM migration, six months later",
                   "Lessons from moving {big} thousand customer records to a new CRM",
                   "Why our CRM migration took twice as long as planned",
                   "The CRM migration that saved our customer experience (eventually)",
                   "Cleaning fifteen years of CRM data", "Running two CRMs in parallel for {weeks}"],
        "s": [
            "We moved {big} thousand customer records from a fifteen-year-old CRM to a cloud platform, and the data cleaning took longer than the build.",
            "Field mapping sessions with the sales team surfaced {n} different definitions of an 'active customer'.",
            "We ran the old and new CRM in parallel for {weeks}, which was painful but caught a billing integration error early.",
            "Custom fields nobody had touched in five years were the hardest thing to say goodbye to.",
            "Training was scheduled too late, so the service team learned the new screens on live calls.",
            "Duplicate accounts were merged by rules we wrote with the sales operations team, and a person reviewed every borderline match.",
            "The migration vendor's estimate assumed clean data, which no company with a fifteen-year-old CRM has.",
            "Reports were rebuilt from scratch, and we used the chance to delete the ones nobody opened.",
            "Adoption rose once the mobile app let field reps log visits in under a minute.",
            "Our biggest mistake was migrating open cases instead of closing them in the old system first.",
            "Permissions in the new CRM are stricter, which the compliance team loves and the sales team tolerates.",
            "Integration with the ERP is still the most fragile part of the setup.",
            "We froze all changes to the old system a month before cut-over, which the sales managers hated.",
        ]},
    "data_owner": {
        "titles": ["Who owns the data? Notes on the chief data officer role",
                   "Data governance needs an owner, not a committee",
                   "Why data ownership keeps bouncing between IT and the business",
                   "The data steward is the most underrated job in the company",
                   "Who answers for the master record?", "Federated data ownership, explained"],
        "s": [
            "Every data governance programme eventually hits the same question: who owns the data, IT or the business?",
            "A chief data officer can set standards, but the people who create the records have to own their quality.",
            "At {co}, data ownership sat with IT for a decade, and the business treated quality as someone else's problem.",
            "Data stewards in each department turned out to matter more than the governance council.",
            "Ownership of the master record was disputed between sales and finance for almost a year.",
            "A data catalogue only helps if every dataset in it has a named owner who answers questions.",
            "The CDO role has a short average tenure, often because its remit is broad and its budget is small.",
            "We split ownership into three parts: who defines the data, who maintains it, and who may use it.",
            "Regulators do not care about your org chart; they care that someone can explain where a number came from.",
            "Data quality scores now appear in each department's quarterly review, which changed behaviour faster than any policy.",
            "A federated model gives domains ownership of their data products while a central team runs the platform.",
            "Committees are good at writing policies and bad at fixing the broken records those policies describe.",
            "The first inventory found {n} copies of the same product table, each maintained by a different team.",
        ]},
    "chatbot": {
        "titles": ["What happened when we put a chatbot in front of our support queue",
                   "Chatbots in support: the containment trap",
                   "Automating tier-one support without annoying everyone",
                   "Better customer experience, fewer tickets: our chatbot year",
                   "The bot-to-agent handover is where it breaks", "What {big} thousand bot conversations taught us"],
        "s": [
            "Our chatbot now handles password resets and order tracking, which were {pct}% of incoming support contacts.",
            "Containment rate looked great on the dashboard until we noticed how many customers simply came back by phone.",
            "The handover from bot to human agent has to carry the conversation history, or customers repeat themselves.",
            "Intent models trained on last year's tickets struggled with questions about the new product line.",
            "We give the bot a clear exit: typing 'agent' at any point opens a human chat.",
            "Support agents helped write the bot's answers, which made them far less suspicious of it.",
            "Average handling time for human agents went up after the bot launch, because the easy contacts had gone.",
            "Generated answers are impressive, but we still restrict the bot to reviewed articles for anything involving refunds.",
            "Weekly review of failed conversations is the cheapest improvement loop we have.",
            "Customers were more forgiving of the bot when it said plainly that it was a bot.",
            "Licensing costs scale with conversations, so the business case depends on realistic volume forecasts.",
            "The bot's search over the help centre exposed how many of our articles were out of date.",
        ]},
    "segmentation": {
        "titles": ["Customer segmentation that the sales team actually uses",
                   "Rebuilding our segments from purchase data",
                   "Personas are dead, long live segments",
                   "What {big} thousand baskets told us about our customers",
                   "Lifetime value by segment, honestly measured"],
        "s": [
            "Our old segments were built on demographics; the new ones come from what customers actually buy and how often.",
            "Clustering {big} thousand customers produced {n} segments, of which three drove most of the margin.",
            "A segment is only useful if a campaign manager can act on it by Tuesday.",
            "We named segments after behaviours, like 'weekend restockers', instead of invented personas.",
            "Lifetime value by segment showed that our most discounted customers were the least profitable.",
            "Sales reps ignored the first version because it did not map to their territories.",
            "We refresh segment membership monthly and track how customers move between them.",
            "Small segments are tempting to target, but they rarely justify separate creative.",
            "The segmentation work exposed gaps in our purchase data from the marketplace channel.",
            "Campaign response rates rose by {pct}% once offers were matched to segment behaviour.",
            "Churn risk is now a field on each customer record rather than a quarterly slide.",
            "The analysts presented the segments as stories, which did more for adoption than the model itself.",
        ]},
    "store_ops": {
        "titles": ["Queue design in grocery stores: a field study",
                   "Store labour scheduling when footfall is unpredictable",
                   "How {co} cut checkout queues in {n} weeks",
                   "Replenishment before opening: a case study",
                   "Click-and-collect at the back door",
                   "A regional rota redesign for {n} stores"],
        "s": [
            "Footfall peaks at lunchtime and after six, but the rota at most stores still assumed a flat day.",
            "A single serpentine queue feeding several tills cut the longest waits by almost half.",
            "Shelf replenishment moved to the hour before opening, which freed staff for the tills at peak times.",
            "Store managers got a simple daily forecast of footfall by hour, built from till data and local events.",
            "Self-checkout works well for small baskets and badly for anything with age-restricted items.",
            "We timed every step of the click-and-collect process in {n} stores and found most of the delay at the back door.",
            "Staff preferred predictable shifts over extra hours, so the new rota fixes shift patterns four weeks ahead.",
            "Out-of-stocks on promoted lines fell once the replenishment plan used the promotion calendar.",
            "The pilot ran in {n} stores for {weeks} before rollout across the region.",
            "Shrinkage at self-checkouts rose slightly, which the business accepted in exchange for shorter queues.",
            "Regional managers now review queue times weekly alongside sales per labour hour.",
            "The backroom layout turned out to matter as much as the shop floor.",
            "Delivery slots from the distribution centre were moved earlier to match the new shift pattern.",
            "Till data showed that a quarter of transactions happened in just three hours of the day.",
            "The client's store managers co-designed the new process, which made the rollout far smoother.",
        ]},
    "contact_centre": {
        "titles": ["Workforce planning for a contact centre that never sleeps",
                   "Forecasting call volumes after a product launch",
                   "Why one contact centre moved to four-day weeks",
                   "Callbacks, queues and the November peak",
                   "Rebuilding the schedule for {big} agents"],
        "s": [
            "Call volumes after the price change ran {pct}% above forecast for three weeks.",
            "Workforce management software is only as good as the interval data you feed it.",
            "Shrinkage, the share of paid time agents are not available for calls, is usually underestimated by a third.",
            "We moved to fifteen-minute intervals in the forecast, which made lunchtime staffing far more accurate.",
            "Home-based agents gave us coverage in the evenings that the office could never staff.",
            "Occupancy above ninety percent looks efficient on paper and burns people out within months.",
            "Schedule adherence improved once agents could swap shifts in an app without a supervisor.",
            "The service level target of eighty percent in twenty seconds was set years ago and nobody remembered why.",
            "Seasonal hiring starts in August if you want agents fully trained for the November peak.",
            "Callbacks smoothed the peaks better than adding more agents would have.",
            "Real-time analysts watch the queues and move agents between skills as volumes shift.",
            "Repeat calls fell once billing queries were routed to a small specialist team.",
            "The client now publishes its forecast accuracy every month alongside the staffing plan.",
        ]},
    "office_design": {
        "titles": ["Designing an office people actually want to come back to",
                   "What we learned moving to a smaller office",
                   "Quiet rooms, loud rooms: rethinking the floor plan",
                   "Our new office is built for focus (and yes, the customer experience team got the window seats)"],
        "s": [
            "We gave up a whole floor and turned the remaining one into a mix of quiet rooms and project spaces.",
            "Desk booking data showed that Tuesdays and Wednesdays were full while Fridays were nearly empty.",
            "Acoustic panels did more for concentration than any amount of new furniture.",
            "Teams asked for more small meeting rooms and fewer large boardrooms.",
            "The kitchen became the most used space in the office once we moved it to the middle of the floor.",
            "Natural light was the single most requested improvement in the staff survey.",
            "We kept a few fixed desks for people who need special equipment.",
            "Lockers replaced pedestals, which freed up a surprising amount of space.",
            "Video booths are cheap and solve the problem of people taking calls at open desks.",
            "The move cut our rent by about a quarter, even after the fit-out costs.",
            "Plants, it turns out, are a maintenance contract, not a one-off purchase.",
            "We asked each team to design its own neighbourhood within a fixed budget.",
            "Bike storage and showers were the cheapest upgrade with the biggest effect on morale.",
        ]},
    "pricing": {
        "titles": ["Raising prices without losing your best accounts",
                   "Value-based pricing in practice",
                   "Why we stopped discounting at quarter end",
                   "Good, better, best: redesigning our price tiers",
                   "How to announce a price increase", "The discount approval problem",
                   "Usage-based pricing without the panic"],
        "s": [
            "We raised list prices by {small}% last year and lost fewer accounts than the sales team feared.",
            "Quarter-end discounting had trained buyers to wait, so we ended it.",
            "A three-tier structure made the middle option the default choice for most new accounts.",
            "Price increases land better with a clear notice period and a short explanation of what changed.",
            "Sales reps now need approval for discounts above a set threshold, and the approvals are reviewed monthly.",
            "Usage-based pricing suits some buyers and terrifies others, so we offer both.",
            "Competitor price tracking matters less than understanding what each segment is willing to pay.",
            "Our finance team models the margin effect of every pricing change before it goes live.",
            "Grandfathering old prices for existing accounts bought goodwill but complicated billing.",
            "Annual contracts with a small discount improved cash flow considerably.",
            "The pricing page is one of the most visited pages on our site, so we test changes carefully.",
            "Bundles helped us move an add-on product that sold poorly on its own.",
        ]},
    "remote_work": {
        "titles": ["Two years of remote work: what stuck",
                   "Running a distributed team across {num} time zones",
                   "Async by default: our writing culture",
                   "The hybrid week, revisited",
                   "Remote onboarding that works", "Writing things down: a remote team's habit"],
        "s": [
            "We have been fully remote for two years, and writing things down turned out to be the most important habit.",
            "Meetings now need an agenda in advance, or they are cancelled.",
            "Overlapping hours across time zones are precious, so we protect them for real conversations.",
            "New starters get a buddy for their first {weeks}, which matters even more when nobody shares an office.",
            "We meet in person twice a year, and those weeks are for planning and relationships, not status updates.",
            "Home office allowances were the most appreciated benefit we introduced.",
            "Managers had to learn to judge output instead of presence.",
            "Video fatigue is real, so we made cameras optional in most internal meetings.",
            "Our handbook is a living document that anyone can propose changes to.",
            "Hiring outside our home city widened the talent pool and raised some tricky payroll questions.",
            "Loneliness came up repeatedly in the staff survey, so we started funding co-working memberships.",
            "Async status updates replaced the daily stand-up for most teams.",
        ]},
    "supply_chain": {
        "titles": ["Conference recap: three days of supply chain talks in {city}",
                   "What I heard at the logistics summit",
                   "Notes from the supply chain resilience forum",
                   "A few takeaways from the freight panel",
                   "Nearshoring talk and the numbers behind it", "Safety stock is back: notes from {city}",
                   "Inside the warehouse automation sessions"],
        "s": [
            "The supply chain conference in {city} drew about {big} people, most of them from logistics and procurement.",
            "Nearshoring was the word of the week, though few speakers had numbers to back it up.",
            "One panel argued that safety stock is back in fashion after years of lean inventory.",
            "Freight rates have fallen from their peak, but port congestion still causes unpredictable delays.",
            "Several speakers described dual sourcing for critical components as the new normal.",
            "The best session was a warehouse automation case study with honest figures on downtime.",
            "Demand sensing tools promise better forecasts, but the panel was sceptical about their accuracy.",
            "Procurement teams are renegotiating contracts to share the risk of delays with suppliers.",
            "Sustainability reporting for supplier emissions dominated the final afternoon.",
            "The exhibition hall was full of robotics vendors and shipment visibility platforms.",
            "A logistics director described rerouting shipments around a canal closure in real time.",
            "Next year's event moves to a bigger venue, which says something about the industry's mood.",
        ]},
    "finance": {
        "titles": ["What higher interest rates mean for your working capital",
                   "Cash flow forecasting for mid-sized firms",
                   "The CFO's guide to budgeting in uncertain times",
                   "Why rolling forecasts beat the annual budget",
                   "Refinancing season: what treasurers are watching",
                   "The thirteen-week cash forecast, explained",
                   "Capital spending plans under pressure",
                   "Payment terms are getting longer. Here's why"],
        "s": [
            "Higher interest rates have made working capital a board-level topic again.",
            "Rolling forecasts updated every quarter replaced the annual budget at {co}, and the finance team has not looked back.",
            "Days sales outstanding crept up by {n} days last year, mostly because of slower public-sector payers.",
            "Scenario planning is only useful if the scenarios are different enough to force real decisions.",
            "Treasury teams are moving cash into short-term deposits now that they earn something again.",
            "The cost of refinancing debt taken out at low rates is starting to show in smaller companies' results.",
            "Zero-based budgeting worked for overheads but was too slow for the sales organisation.",
            "Supplier payment terms are being stretched, which simply moves the cash problem down the chain.",
            "A thirteen-week cash flow forecast is the most useful spreadsheet a finance team can keep.",
            "Capital expenditure plans are being split into must-have and can-wait lists.",
            "Auditors are asking harder questions about going-concern assumptions this year.",
            "Currency hedging policies deserve a review whenever the currency mix of revenue changes.",
            "Covenant headroom, not profit, is what keeps many finance directors awake at the moment.",
        ]},
    "tech_ops": {
        "titles": ["Cloud costs are out of control: a practical guide",
                   "Ransomware readiness for the mid-market",
                   "Our move to single sign-on, step by step",
                   "What the latest outage taught us about resilience",
                   "Patch Tuesday, every Tuesday",
                   "The security questionnaire problem"],
        "s": [
            "The cloud bill at {co} grew {pct}% in a year, and most of the increase came from storage nobody was using.",
            "Tagging every resource by team was the first step to understanding who spends what.",
            "Reserved instances saved money, but only after the team was confident about baseline usage.",
            "A ransomware tabletop exercise showed that the backups were fine and the contact lists were not.",
            "Single sign-on cut password reset tickets to the IT desk by more than half.",
            "Multi-factor authentication is no longer optional for anyone with access to finance systems.",
            "The outage lasted {n} hours, and most of that time was spent working out which dependency had failed.",
            "Runbooks written before an incident are worth ten written after it.",
            "Shadow IT shrank once teams could request approved tools in a day instead of a month.",
            "Logs moved to cheaper storage tiers after thirty days, which cut costs without losing audit trails.",
            "Vendor security questionnaires now take up a surprising share of the security team's time.",
            "Patching improved once the infrastructure team owned a clear monthly maintenance window.",
        ]},
    "succession": {
        "titles": ["Succession planning is a leadership test",
                   "What makes a good first-time manager",
                   "Board diversity, five years on",
                   "How to run a leadership offsite that decides something",
                   "People leave managers: what exit interviews keep telling us"],
        "s": [
            "Succession planning often stops at the executive team, leaving middle management exposed.",
            "The best first-time managers are usually good at giving feedback before they are given the title.",
            "The leadership programme at {co} pairs every new manager with a mentor from a different department.",
            "Boards with a wider range of backgrounds asked better questions in our governance review.",
            "Offsites work when the agenda has room for disagreement and a clear list of decisions at the end.",
            "Promotion criteria are now written down and shared, which reduced complaints about fairness.",
            "Skip-level meetings surface problems that never make it into the management report.",
            "Leaders who take their full holiday give their teams permission to do the same.",
            "The exit interviews kept pointing to the same thing: people leave managers, not companies.",
            "Interim appointments are useful, but they should have an end date from the start.",
            "Every senior leader is asked to name two possible successors and what each would need to be ready.",
            "Coaching budgets are spread across all levels now, not just the top team.",
        ]},
    "brand": {
        "titles": ["Brand campaigns in a performance-marketing world",
                   "Search traffic after the latest algorithm update",
                   "What a rebrand costs, and what it changes",
                   "Content marketing on a small budget",
                   "Share of search as a brand metric"],
        "s": [
            "Brand spend is hard to measure, which is exactly why it gets cut first in a downturn.",
            "Organic traffic fell by {pct}% after the algorithm update, mostly on thin comparison pages.",
            "The team consolidated {big} old blog posts into a smaller number of thorough guides.",
            "The rebrand took nine months, and the new logo was the smallest part of the work.",
            "Marketing mix modelling is back, now that third-party cookies are disappearing.",
            "The best-performing content pieces were practical templates, not opinion pieces.",
            "Paid social costs rose sharply, so budget moved to partnerships and events.",
            "A clear naming system for products helped both search rankings and the sales team.",
            "The agency's creative was strong, but the media plan was what made the campaign work.",
            "Links from industry associations were worth more than dozens of directory listings.",
            "Publishing less often and updating old articles more often raised traffic within a quarter.",
            "Share of search turned out to be a decent early indicator of brand health.",
        ]},
    "services": {
        "titles": [],
        "s": [
            "Our journey mapping workshops bring together the people who run each step of the process, not just the project team.",
            "We start every engagement with a short diagnostic: data, site visits and interviews with frontline staff.",
            "Voice-of-the-customer programmes fail when the feedback never reaches the people who can act on it.",
            "We design surveys that are short enough to finish on a phone.",
            "Our analysts combine survey scores with operational data such as wait times and repeat contacts.",
            "Most engagements end with a prioritised list of fixes, owners and dates.",
            "We train client teams to run the method themselves once we leave.",
            "Service blueprints show what happens behind the scenes for each step a customer sees.",
            "Prototypes are tested with real customers in real branches before anything is rolled out.",
            "We have worked with retailers, utilities and public services across {n} countries.",
            "Fees are fixed per phase and agreed before work starts.",
            "Typical projects last between {weeks} and four months.",
            "Every recommendation comes with an estimate of cost, effort and expected effect.",
        ]},
    "careers": {
        "titles": [],
        "s": [
            "You will work with retail and service clients on operational improvement projects lasting between {weeks} and six months.",
            "We are looking for someone with at least {small} years of consulting or industry experience.",
            "The role involves regular travel to client sites, typically two days a week.",
            "You will be comfortable with spreadsheets, process mapping and presenting to senior client teams.",
            "Salary is competitive and includes a performance bonus and a pension contribution.",
            "We offer flexible hours, a learning budget and generous leave plus public holidays.",
            "Our team is small, so everyone works directly with partners from the first week.",
            "Experience with workforce management or store operations data is a plus.",
            "Please send a short note about a project you are proud of, rather than a cover letter.",
            "Interviews consist of a conversation, a short case exercise and a meeting with two partners.",
            "We welcome applications from people returning to work after a career break.",
            "The position is based in our {city} office with hybrid working.",
        ]},
}
SIBLING = {"cs_hiring": "contact_centre", "cdp": "crm", "crm": "cdp", "checkout": "loyalty",
           "loyalty": "checkout", "data_owner": "cdp", "chatbot": "contact_centre",
           "segmentation": "cdp", "store_ops": "supply_chain", "contact_centre": "cs_hiring",
           "office_design": "remote_work", "remote_work": "office_design", "pricing": "finance",
           "supply_chain": "store_ops", "finance": "pricing", "tech_ops": "data_owner",
           "succession": "remote_work", "brand": "segmentation"}
NEAR_MISS = {"cs_hiring", "cdp", "checkout", "loyalty", "crm", "data_owner", "chatbot",
             "segmentation", "store_ops", "contact_centre", "services"}
IN_PASSING = [
    "Everyone talks about customer experience, but this project was mostly about plumbing.",
    "The customer experience team was consulted, though the decisions here were operational.",
    "Yes, this affects the customer experience, but the business case was about cost.",
    "Customer experience came up in the steering meeting, mostly as a reason to move faster.",
    "We did not set out to improve the customer experience, although that was a welcome side effect.",
    "It is tempting to dress this up as a customer experience story; it is really a story about process.",
]
FILLER = [
    "None of this is new, but it is easy to forget when the quarter gets busy.",
    "We made plenty of mistakes along the way, and I will try to be honest about them here.",
    "The numbers come from one company's data, so treat them as one data point rather than a rule.",
    "It took longer than planned, which seems to be true of every project worth doing.",
    "I'd be curious to hear how other teams have handled this.",
    "Your mileage will vary depending on size and sector.",
    "The short version: start small, measure honestly and write down what you learn.",
    "There is no perfect answer here, only trade-offs you choose consciously.",
    "A colleague at {co} described the same pattern to me last month.",
    "The decision was revisited after six months, and most of it survived.",
    "Some of this will sound obvious; it was not obvious at the time.",
    "The hardest part was not the technology but the habits around it.",
    "Budgets were tight, so every change had to pay for itself within a year.",
    "Most of the work happened in small steps rather than one big launch.",
    "I have left out vendor names, because the lessons apply whichever one you choose.",
    "Looking back, the early conversations mattered more than the final plan.",
    "The first draft was shared internally and drew more comments than expected.",
    "That said, context matters, and what worked in one place may not work in another.",
    "More on this in a later piece.",
]
COMMENT_OPEN = ["Good post.", "Thanks for writing this up.", "Useful, thanks.", "We saw the same thing.",
                "Interesting numbers.", "Bookmarking this.", "Helpful summary.", "Agree with most of this.",
                "Nice write-up.", "Very familiar."]
COMMENT_CLOSE = ["Would love a follow-up.", "Did you measure the effect?", "What tool did you use?",
                 "How long did it take?", "Thanks again.", "", "", ""]
REPLY_OPEN = ["Fair point, {name}.", "{name}, agreed.", "Not sure I agree, {name}.",
              "Good question, {name}.", "Thanks, {name}."]


# --------------------------------------------------------------------------- writing


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower().replace("'", "")).strip("-")[:60].strip("-")


def words(text: str) -> int:
    return len(text.split())


class Writer:
    """Recombines the pools into titles, article bodies and comments."""

    PREFIXES = ("Analysis: ", "Case study: ", "Opinion: ", "Briefing: ", "Explainer: ")

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.left: dict[int, list[str]] = {}

    def fill(self, template: str) -> str:
        return fill(self.rng, template)

    def title(self, pool: list[str]) -> str:
        left = self.left.setdefault(id(pool), self.rng.sample(pool, len(pool)))
        while left:
            title = self.fill(left.pop())
            if title not in self.used:
                self.used.add(title)
                return title
        for _ in range(100):
            title = self.rng.choice(self.PREFIXES) + self.fill(self.rng.choice(pool))
            if title not in self.used:
                self.used.add(title)
                return title
        raise RuntimeError("title pool exhausted")

    def person(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def _quote(self, text: str) -> str:
        """A quotation with a speaker; ``text`` has no final full stop."""
        speaker = self.fill("{person}, {role} at {co}")
        form = self.rng.randrange(3)
        if form == 0:
            return f"\u201c{text},\u201d says {speaker}."
        if form == 1:
            return f"As {speaker}, put it: \u201c{text}.\u201d"
        return f"\u201c{text},\u201d {speaker.split(',')[0]} told us."

    def body(self, theme: str, lo: int, hi: int, angle: str | None = None,
             extra: str | None = None) -> list[list[str]]:
        """Paragraphs (lists of plain sentences) on ``theme`` ("on" for the debate)."""
        rng = self.rng
        target = rng.randint(lo, hi)

        def pool(items: list[str]) -> list[str]:
            return rng.sample(items, len(items))

        filler = pool(FILLER)[:rng.randint(2, 4)]
        if theme == "on":
            angle = angle or rng.choice([a for a in ON_TOPIC if a != "framing"])
            pools: list[tuple[float, list[str]]] = [(4.0, pool(ON_TOPIC[angle])),
                                                    (1.5, pool(ON_TOPIC["framing"]))]
            pools += [(0.8, pool(v)) for k, v in ON_TOPIC.items() if k not in (angle, "framing")]
            quotes = [self._quote(q) for q in rng.sample(ON_QUOTES, rng.randint(1, 2))]
            pools += [(0.4, filler), (0.5, quotes)]
        else:
            main = pool(THEMES[theme]["s"])
            quoted: list[str] = []
            for sentence in list(main):
                if len(quoted) < 2 and sentence.startswith(("We ", "Our ")) and rng.random() < 0.5:
                    main.remove(sentence)
                    quoted.append(self._quote(self.fill(sentence)[:-1]))
            pools = [(5.0, main), (1.0, filler), (0.6, quoted)]
            extra = extra or SIBLING.get(theme)
            if extra:
                pools.append((1.2, pool(THEMES[extra]["s"])[:rng.randint(3, 5)]))
            if theme in NEAR_MISS and rng.random() < 0.6:
                pools.append((0.4, [rng.choice(IN_PASSING)]))
        sentences = [self.fill(pools[0][1].pop())]
        total = words(sentences[0])
        while total < target:
            live = [(w, p) for w, p in pools if p]
            if not live:
                break
            chosen = rng.choices([p for _, p in live], weights=[w for w, _ in live])[0]
            sentence = self.fill(chosen.pop())
            sentences.append(sentence)
            total += words(sentence)
        reserve = [s for s in pool(FILLER) if s not in sentences]
        while total < lo and reserve:  # short pools: pad with general remarks up to ``lo``
            sentence = self.fill(reserve.pop())
            sentences.insert(rng.randint(1, len(sentences)), sentence)
            total += words(sentence)
        paragraphs: list[list[str]] = []
        while sentences:
            size = rng.randint(2, 3) if not paragraphs else rng.randint(2, 5)
            paragraphs.append(sentences[:size])
            sentences = sentences[size:]
        if len(paragraphs) > 1 and len(paragraphs[-1]) == 1:
            last = paragraphs.pop()
            paragraphs[-1] += last
        return paragraphs

    def comment(self, on_topic: bool, theme: str, reply_to: str = "") -> str:
        rng = self.rng
        if on_topic:
            parts = [self.fill(c) for c in rng.sample(ON_COMMENTS, rng.choice([1, 1, 2]))]
        else:
            pool = THEMES[theme]["s"] if theme in THEMES else FILLER
            parts = [rng.choice(COMMENT_OPEN), self.fill(rng.choice(pool)), rng.choice(COMMENT_CLOSE)]
        if reply_to:
            parts.insert(0, rng.choice(REPLY_OPEN).format(name=reply_to.split()[0]))
        return " ".join(p for p in parts if p)


# --------------------------------------------------------------------------- model


@dataclass
class Comment:
    id: int
    author: str
    text: str
    date: datetime
    parent: int = 0
    url: str = ""


@dataclass
class Doc:
    """One article-like page: a blog post, a magazine article, a consultancy page."""

    site: str
    path: str
    title: str
    author: str
    date: datetime
    on_topic: bool
    theme: str
    section: str
    kind: str  # post | article | syndicated | insight | case
    number: int = 0
    paragraphs: list[str] = field(default_factory=list)  # HTML, one per <p>
    tags: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    related: list[Doc] = field(default_factory=list)
    origin: Doc | None = None  # a syndicated copy's original
    printable: bool = False
    old_id: int = 0
    url: str = ""
    modified: datetime = field(default=datetime(2000, 1, 1, tzinfo=UTC))

    @property
    def body(self) -> list[str]:
        return self.origin.paragraphs if self.origin is not None else self.paragraphs

    def text(self) -> str:
        return "\n\n".join(_plain(p) for p in self.body)

    def summary(self, size: int = 32) -> str:
        tokens = self.text().split()
        return " ".join(tokens[:size]) + (" \u2026" if len(tokens) > size else "")


def _plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _paragraph_html(sentences: list[str]) -> str:
    return " ".join(html.escape(s, quote=False) for s in sentences)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _long_date(moment: datetime) -> str:
    return f"{moment:%B} {moment.day}, {moment.year}"


def _comment_date(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{_long_date(moment)} at {hour}:{moment:%M} {'am' if moment.hour < 12 else 'pm'}"


def _comment_count(doc: Doc) -> str:
    count = len(doc.comments)
    return "Leave a comment" if not count else "1 Comment" if count == 1 else f"{count} Comments"


def _ld(doc: Doc, kind: str = "Article", publisher: str = "") -> str:
    data = {"@context": "https://schema.org", "@type": kind, "headline": doc.title,
            "author": {"@type": "Person", "name": doc.author},
            "datePublished": _iso(doc.date), "dateModified": _iso(doc.modified),
            "mainEntityOfPage": doc.url,
            "publisher": {"@type": "Organization", "name": publisher}}
    return json.dumps(data).replace("</", "<\\/")


def _esc(text: str) -> str:
    return html.escape(text)


def _not_modified(request: Request, etag: str, lastmod: datetime) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = [t.strip().removeprefix("W/") for t in match.split(",")]
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return lastmod <= moment
    return False


class Site:
    """One of the three sites: its server, its pages and the answers they give."""

    def __init__(self, name: str, server: LocalServer, seed: int) -> None:
        self.name = name
        self.server = server
        self.base = server.url("")
        self.seed = seed
        self.kinds: dict[str, str] = {}  # canonical URL of every real page -> kind
        self.docs: list[Doc] = []
        self._renders = itertools.count(1)
        server.fallback = self.fallback

    def url(self, path: str) -> str:
        return self.base + path

    def token(self) -> str:
        return hashlib.sha1(f"{self.name}:{self.seed}:{next(self._renders)}".encode()).hexdigest()[:16]

    def answer(self, request: Request, template: str, lastmod: datetime,
               ctype: str = HTML) -> tuple[int, dict[str, str], bytes]:
        """200 with ETag/Last-Modified, or 304 when the client's copy is current."""
        etag = '"' + hashlib.sha1(template.encode()).hexdigest()[:24] + '"'
        headers = {"Content-Type": ctype, "ETag": etag,
                   "Last-Modified": format_datetime(lastmod, usegmt=True),
                   "Cache-Control": "max-age=0, must-revalidate"}
        if _not_modified(request, etag, lastmod):
            return 304, {"ETag": etag, "Last-Modified": headers["Last-Modified"]}, b""
        body = template
        while SID in body:
            body = body.replace(SID, self.token(), 1)
        while JSID in body:
            body = body.replace(JSID, self.token().upper(), 1)
        return 200, headers, body.encode()

    def page(self, path: str, kind: str | None,
             render: Callable[[], tuple[str, datetime]], ctype: str = HTML) -> None:
        """Serve ``render()`` (template, last modified) at ``path``; count it when ``kind``."""
        if kind:
            self.kinds[self.url(path)] = kind
        self.server.routes[path] = lambda request: self.answer(request, *render(), ctype)

    def route(self, path: str, route: Any) -> None:
        self.server.routes[path] = route

    def redirect(self, path: str, target: str, status: int = 301) -> None:
        self.server.routes[path] = (status, {"Location": target, "Content-Type": HTML},
                                    f'<p>Moved <a href="{_esc(target)}">here</a>.</p>')

    def fallback(self, request: Request) -> Any:
        """Path parameters (``;jsessionid=``) ignored, trailing slashes fixed, else a 404."""
        routes = self.server.routes
        path = request.path
        if ";" in path:
            route = routes.get(path.split(";", 1)[0])
            if route is not None:
                return route(request) if callable(route) else route
        query = f"?{request.query}" if request.query else ""
        if not path.endswith("/") and path + "/" in routes:
            return 301, {"Location": self.url(path + "/" + query)}, b""
        if path.endswith("/") and len(path) > 1 and path[:-1] in routes:
            return 301, {"Location": self.url(path[:-1] + query)}, b""
        return self.not_found()

    def not_found(self) -> tuple[int, dict[str, str], str]:
        return 404, {"Content-Type": HTML}, (
            "<!DOCTYPE html><html><head><title>Page not found</title></head><body>"
            f'<h1>Page not found</h1><p>Try the <a href="{self.base}/">home page</a>.</p>'
            "</body></html>")

    def doc(self, url: str) -> Doc | None:
        for doc in self.docs:
            if doc.url == url:
                return doc
        return None


# --------------------------------------------------------------------------- the three sites

BLOG_AUTHORS = {"maya": "Maya Lindqvist", "tom": "Tom Okafor", "julia": "Julia Brandt"}
BLOG_CATS = {"cx-strategy": "CX Strategy", "leadership": "Leadership",
             "customer-service": "Customer Service", "data-and-tech": "Data &amp; Tech",
             "ecommerce": "E-commerce", "workplace": "Workplace", "events": "Events"}
BLOG_THEME_CAT = {"cs_hiring": "customer-service", "chatbot": "customer-service",
                  "cdp": "data-and-tech", "crm": "data-and-tech", "data_owner": "leadership",
                  "checkout": "ecommerce", "loyalty": "ecommerce", "office_design": "workplace",
                  "remote_work": "workplace", "pricing": "cx-strategy", "supply_chain": "events"}
ANGLE_TAG = {"outcome": "outcome-vs-function", "function": "outcome-vs-function", "dedicated": "cco",
             "marketing_service": "org-design", "shared": "org-design", "accountability": "measurement"}
THEME_TAG = {"crm": "crm", "cdp": "crm", "cs_hiring": "hiring", "remote_work": "remote-work",
             "chatbot": "automation", "checkout": "conversion"}
ANGLES = ["outcome", "function", "dedicated", "marketing_service", "shared", "accountability"]
GENERIC_ON = ("A few thoughts", "Notes from", "Field notes", "Three conversations")

MAG_SECTIONS = {"leadership": "Leadership", "marketing": "Marketing", "retail": "Retail",
                "technology": "Technology", "finance": "Finance"}
MAG_STAFF = ["Coreen Bailey", "Marcus Webb", "Anita Desai", "Felix Hartmann", "Rosa Jimenez",
             "Graham Tully"]
MAG_PLAN = {  # section -> [(theme, count)]
    "leadership": [("on", 6), ("succession", 5), ("data_owner", 3), ("remote_work", 2)],
    "marketing": [("on", 4), ("segmentation", 4), ("brand", 5), ("pricing", 3)],
    "retail": [("on", 3), ("checkout", 3), ("loyalty", 3), ("store_ops", 3), ("supply_chain", 3)],
    "technology": [("on", 2), ("tech_ops", 5), ("crm", 3), ("cdp", 3), ("chatbot", 3)],
    "finance": [("finance", 8)],
}
CONSULTANTS = [("Grace Moreau", "Partner", "a partner"),
               ("Kwame Mensah", "Principal, Retail Operations", "the principal for retail operations"),
               ("Helen Quinn", "Head of Research", "the head of research"),
               ("Ravi Patel", "Senior Consultant", "a senior consultant"),
               ("Sofia Duarte", "Service Design Lead", "the service design lead"),
               ("Jonas Eriksen", "Data Analyst", "a data analyst")]
CASE_STUDIES = [("Cutting queue times for a regional grocer", "store_ops"),
                ("A new rota for sixty convenience stores", "store_ops"),
                ("Click-and-collect redesign for a DIY retailer", "store_ops"),
                ("Replenishment planning for a fashion chain", "store_ops"),
                ("Self-checkout rollout at a supermarket group", "store_ops"),
                ("Forecasting calls for a water utility", "contact_centre"),
                ("Shift swapping at an insurer's contact centre", "contact_centre"),
                ("Peak planning for an online retailer's service team", "contact_centre"),
                ("A callback programme for a telecoms provider", "contact_centre"),
                ("Reducing repeat calls at an energy supplier", "contact_centre")]
SERVICES = [("Journey mapping", "services"), ("Voice of the customer programmes", "services"),
            ("Store operations", "store_ops"), ("Contact centre performance", "contact_centre"),
            ("Service design", "services"), ("Research and insight", "segmentation")]
JOBS = ["Senior Consultant, Retail Operations", "Data Analyst (Contact Centre Analytics)",
        "Service Designer", "Engagement Manager", "Research Associate"]

BLOG_DESC = ["I made a related argument in {a}.", "See also: {a}.", "For background, read {a}.",
             "There is more on this in {a}.", "This follows on from {a}."]
BLOG_GENERIC = ["I wrote more about this {here}.", "There is a longer discussion {here}.",
                "{more} about how that played out.", "(The details are {here}.)"]
MAG_DESC = ["Related: {a}.", "Read more: {a}.", "We covered the background in {a}.",
            "See our earlier report, {a}."]
MAG_GENERIC = ["Our earlier coverage is {here}.", "{more}: how the numbers looked a year earlier."]


def _a(href: str, text: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f'<a href="{_esc(href)}"{attr}>{_esc(text)}</a>'


def _equivalent_year(year: int) -> int:
    """A year with the same calendar (the Gregorian calendar repeats every 400 years)."""
    return 2000 + year % 400


def _month_days(year: int, month: int) -> tuple[int, int]:
    import calendar
    return calendar.monthrange(_equivalent_year(year), month)


def _shift_month(year: int, month: int, step: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + step
    return index // 12, index % 12 + 1


def _shift_day(year: int, month: int, day: int, step: int) -> tuple[int, int, int]:
    day += step
    if day < 1:
        year, month = _shift_month(year, month, -1)
        return year, month, _month_days(year, month)[1]
    if day > _month_days(year, month)[1]:
        year, month = _shift_month(year, month, 1)
        return year, month, 1
    return year, month, day


def _paged(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


class _Builder:
    """Generates the three sites' content and fills their servers' routes."""

    def __init__(self, seed: int, blog: LocalServer, magazine: LocalServer,
                 consultancy: LocalServer) -> None:
        self.seed = seed
        self.rng = random.Random(f"crawlweb/{seed}")
        self.w = Writer(random.Random(f"crawlweb/{seed}/text"))
        self.blog = Site("blog", blog, seed)
        self.mag = Site("magazine", magazine, seed)
        self.cons = Site("consultancy", consultancy, seed)
        self.comment_ids = itertools.count(2001)
        self.redirects: dict[str, str] = {}  # URL -> where it finally lands
        self.dead: dict[str, int] = {}  # URL -> status (404, 500)
        self.loop: list[str] = []
        self.duplicates: dict[str, str] = {}
        self.traps: list[str] = []  # URL prefixes of trap pages
        self.launched = datetime(2021, 5, 3, 9, 0, tzinfo=UTC)
        self._blog_docs()
        self._mag_docs()
        self._cons_docs()
        self._comments()
        self._links()
        self._related()
        self._blog_routes()
        self._mag_routes()
        self._cons_routes()

    # ---------------------------------------------------------------- content

    def _dates(self, count: int, start: datetime, end: datetime) -> list[datetime]:
        span = int((end - start).total_seconds())
        moments = {start + timedelta(seconds=self.rng.randrange(span)) for _ in range(count * 2)}
        chosen = sorted(self.rng.sample(sorted(moments), count))
        return [m.replace(second=0, microsecond=0) for m in chosen]

    def _angle(self, index: int) -> str:
        return ANGLES[index % len(ANGLES)]

    def _blog_docs(self) -> None:
        rng, site = self.rng, self.blog
        plan = ["on"] * 20
        plan += [t for t in ("cs_hiring", "cdp", "checkout", "loyalty", "crm", "chatbot", "data_owner")
                 for _ in range(2)]
        plan += ["office_design"] * 3 + ["pricing"] * 4 + ["remote_work"] * 3 + ["supply_chain"] * 4
        rng.shuffle(plan)
        dates = self._dates(len(plan), datetime(2022, 3, 1, tzinfo=UTC),
                            datetime(2023, 12, 20, tzinfo=UTC))
        paths: set[str] = set()
        on_count = 0
        for number, (theme, moment) in enumerate(zip(plan, dates), start=101):
            on = theme == "on"
            title = self.w.title(ON_TITLES if on else THEMES[theme]["titles"])
            tags: list[str] = []
            if on:
                angle = self._angle(on_count)
                on_count += 1
                body = self.w.body("on", 320, 630, angle=angle)
                if title.startswith(GENERIC_ON):
                    category = "events"
                else:
                    category = rng.choices(["cx-strategy", "leadership"], weights=[3, 1])[0]
                if rng.random() < 0.7:
                    tags.append(ANGLE_TAG[angle])
            else:
                body = self.w.body(theme, 270, 460)
                category = BLOG_THEME_CAT[theme]
                if theme in THEME_TAG and rng.random() < 0.8:
                    tags.append(THEME_TAG[theme])
            slug = slugify(title)
            path = f"/{moment:%Y/%m}/{slug}/"
            while path in paths:
                slug += "-2"
                path = f"/{moment:%Y/%m}/{slug}/"
            paths.add(path)
            author = BLOG_AUTHORS[rng.choice(sorted(BLOG_AUTHORS))]
            site.docs.append(Doc("blog", path, title, author, moment, on, theme, category, "post",
                                 number=number, paragraphs=[_paragraph_html(p) for p in body],
                                 tags=tags, url=site.url(path), modified=moment))
        posts = site.docs
        for doc in (rng.sample([d for d in posts if d.on_topic], 3)
                    + rng.sample([d for d in posts if not d.on_topic], 3)):
            doc.printable = True
            self.duplicates[doc.url + "?print=1"] = doc.url

    def _mag_docs(self) -> None:
        rng, site = self.rng, self.mag
        plan = [(section, theme) for section, rows in MAG_PLAN.items()
                for theme, count in rows for _ in range(count)]
        rng.shuffle(plan)
        dates = self._dates(len(plan) + 2, datetime(2021, 6, 1, tzinfo=UTC),
                            datetime(2023, 12, 15, tzinfo=UTC))
        ids = rng.sample(range(41000, 59000), len(plan) + 2)
        on_count = 3
        for (section, theme), moment, number in zip(plan, dates, ids):
            on = theme == "on"
            if on:
                title = self.w.title(ON_TITLES)
                body = self.w.body("on", 330, 630, angle=self._angle(on_count))
                on_count += 1
            else:
                title = self.w.title(THEMES[theme]["titles"])
                body = self.w.body(theme, 270, 470)
            path = f"/articles/{number}"
            site.docs.append(Doc("magazine", path, title, rng.choice(MAG_STAFF), moment, on, theme,
                                 section, "article", number=number,
                                 paragraphs=[_paragraph_html(p) for p in body],
                                 url=site.url(path), modified=moment))
        old_ids = rng.sample(range(1000, 9999), 12)
        for doc, old in zip(rng.sample(site.docs, 12), old_ids):
            doc.old_id = old
        # two blog posts republished by the magazine: near-duplicates across sites
        candidates = [d for d in self.blog.docs if d.on_topic and d.date < datetime(2023, 10, 1, tzinfo=UTC)]
        for origin, number in zip(rng.sample(candidates, 2), ids[len(plan):]):
            path = f"/articles/{number}"
            moment = origin.date + timedelta(days=rng.randint(3, 12), hours=rng.randint(1, 8))
            copy = Doc("magazine", path, origin.title, origin.author, moment, True, "on",
                       "leadership", "syndicated", number=number, origin=origin,
                       url=site.url(path), modified=moment)
            site.docs.append(copy)
            self.duplicates[copy.url] = origin.url

    def _cons_docs(self) -> None:
        rng, site = self.rng, self.cons
        self.team = []
        for name, role, phrase in CONSULTANTS:
            slug = slugify(name)
            first = name.split()[0]
            bio = [f"{name} is {phrase} at {CONS_NAME}.",
                   self.w.fill(f"{first} spent {{num}} years in {{ind}} operations before joining the "
                               "firm, and works from our {city} office."),
                   f"{first} writes regularly for our insights page and speaks at industry events."]
            self.team.append({"name": name, "role": role, "slug": slug, "bio": bio,
                              "url": site.url(f"/team/{slug}/")})
        dates = self._dates(11, datetime(2022, 9, 1, tzinfo=UTC), datetime(2023, 12, 10, tzinfo=UTC))
        themes = ["on"] * 6 + ["store_ops", "store_ops", "contact_centre", "segmentation", "chatbot"]
        rng.shuffle(themes)
        on_count = 1
        for theme, moment in zip(themes, dates):
            on = theme == "on"
            if on:
                title = self.w.title(ON_TITLES)
                body = self.w.body("on", 300, 600, angle=self._angle(on_count))
                on_count += 1
            else:
                title = self.w.title(THEMES[theme]["titles"])
                body = self.w.body(theme, 270, 450)
            path = f"/insights/{slugify(title)}/"
            site.docs.append(Doc("consultancy", path, title, rng.choice(self.team)["name"], moment,
                                 on, theme, "insights", "insight",
                                 paragraphs=[_paragraph_html(p) for p in body],
                                 url=site.url(path), modified=moment))
        case_dates = self._dates(len(CASE_STUDIES), datetime(2021, 9, 1, tzinfo=UTC),
                                 datetime(2023, 11, 1, tzinfo=UTC))
        for (title, theme), moment in zip(CASE_STUDIES, case_dates):
            self.w.used.add(title)
            body = self.w.body(theme, 270, 420, extra="services")
            path = f"/case-studies/{slugify(title)}/"
            site.docs.append(Doc("consultancy", path, title, rng.choice(self.team)["name"], moment,
                                 False, theme, "case-studies", "case",
                                 paragraphs=[_paragraph_html(p) for p in body],
                                 url=site.url(path), modified=moment))
        self.services = [{"title": title, "slug": slugify(title),
                          "body": [_paragraph_html(p) for p in self.w.body(
                              "services", 170, 260, extra=None if theme == "services" else theme)]}
                         for title, theme in SERVICES]
        self.jobs = [{"title": title, "slug": slugify(title),
                      "body": [_paragraph_html(p) for p in self.w.body("careers", 150, 230)]}
                     for title in JOBS]

    def _comments(self) -> None:
        rng = self.rng
        names: list[str] = []
        while len(names) < 34:
            name = self.w.person()
            if name not in names and name not in BLOG_AUTHORS.values():
                names.append(name)
        urls: dict[str, str] = {}
        for name in rng.sample(names, 12):
            urls[name] = f"http://{slugify(name).replace('-', '')}.invalid/"
        urls[names[0]] = "http://commenter-site.invalid/"
        for member in self.team[:5]:
            names.append(member["name"])
            urls[member["name"]] = member["url"]
        self.commenter_urls = urls
        for doc in self.blog.docs:
            if rng.random() < 0.85:
                self._thread(doc, rng.randint(2, 8), names)
        for doc in self.mag.docs:
            if doc.kind == "article" and rng.random() < 0.25:
                self._thread(doc, rng.randint(1, 4), names)

    def _thread(self, doc: Doc, count: int, names: list[str]) -> None:
        rng = self.rng
        moment = doc.date
        depth: dict[int, int] = {}
        for index in range(count):
            moment += timedelta(hours=rng.randint(1, 30), minutes=rng.randint(0, 59))
            parent = None
            if index and rng.random() < 0.45:
                options = [c for c in doc.comments if depth[c.id] < 3]
                parent = rng.choice(options) if options else None
            if parent is not None and rng.random() < 0.3 and parent.author != doc.author:
                author = doc.author
            else:
                author = rng.choice([n for n in names if parent is None or n != parent.author])
            text = self.w.comment(doc.on_topic, doc.theme, parent.author if parent else "")
            comment = Comment(next(self.comment_ids), author, text, moment,
                              parent.id if parent else 0,
                              "" if author == doc.author else self.commenter_urls.get(author, ""))
            depth[comment.id] = depth[parent.id] + 1 if parent else 1
            doc.comments.append(comment)
        doc.modified = max(doc.modified, moment)

    # ---------------------------------------------------------------- links

    def _pick(self, pool: list[Doc], doc: Doc, same_topic: float = 0.7) -> Doc:
        options = [d for d in pool if d is not doc and d.origin is not doc and doc.origin is not d]
        same = [d for d in options if d.on_topic == doc.on_topic]
        if same and self.rng.random() < same_topic:
            return self.rng.choice(same)
        return self.rng.choice(options)

    def _attach(self, doc: Doc, sentence: str) -> None:
        index = self.rng.randrange(len(doc.paragraphs))
        doc.paragraphs[index] += " " + sentence

    def _sentence(self, desc: list[str], generic: list[str], href: str, title: str) -> str:
        rng = self.rng
        if rng.random() < 0.55:
            return rng.choice(desc).format(a=_a(href, title))
        return rng.choice(generic).format(here=_a(href, "here"), more=_a(href, "Read more"))

    def _blog_href(self, target: Doc) -> str:
        roll = self.rng.random()
        if roll < 0.4:
            return target.url
        if roll < 0.6:
            return target.path
        if roll < 0.72:
            return target.url.rstrip("/")
        if roll < 0.87:
            return (target.url + "?utm_source=newsletter&utm_medium=email"
                    f"&utm_campaign={target.date:%b-%Y}".lower())
        return target.url + "#comments"

    def _mag_href(self, target: Doc) -> str:
        if target.old_id and self.rng.random() < 0.5:
            return f"/story/{target.old_id}"
        if self.rng.random() < 0.15:
            return target.path + "/"
        return target.path

    def _links(self) -> None:
        rng = self.rng
        posts = self.blog.docs
        articles = [d for d in self.mag.docs if d.kind == "article"]
        insights = [d for d in self.cons.docs if d.kind == "insight"]
        cases = [d for d in self.cons.docs if d.kind == "case"]
        for doc in posts:
            for _ in range(rng.randint(1, 3)):
                target = self._pick(posts, doc)
                self._attach(doc, self._sentence(BLOG_DESC, BLOG_GENERIC, self._blog_href(target),
                                                 target.title))
            if rng.random() < 0.3:
                target = self._pick(articles, doc, 0.8)
                href = (self.mag.url(f"/story/{target.old_id}") if target.old_id and rng.random() < 0.5
                        else target.url + "?utm_source=frontline-notes&utm_medium=referral")
                self._attach(doc, f"{MAG_NAME} covered this in {_a(href, target.title)}.")
            if rng.random() < 0.22:
                target = self._pick(insights + cases, doc, 0.85)
                self._attach(doc, f"The team at {CONS_NAME} published {_a(target.url, target.title)}.")
        dead = rng.choice(posts)
        self._attach(dead, f"(The original version of this post is {_a('/2019/02/deleted-post/', 'archived here')}.)")
        self.dead[self.blog.url("/2019/02/deleted-post/")] = 404
        for doc in articles:
            for _ in range(rng.randint(0, 2)):
                target = self._pick(self.mag.docs, doc)
                self._attach(doc, self._sentence(MAG_DESC, MAG_GENERIC, self._mag_href(target),
                                                 target.title))
            if doc.on_topic and rng.random() < 0.45:
                target = self._pick(insights, doc, 0.9)
                self._attach(doc, f"Consultants at {CONS_NAME} make a similar case in "
                                  f"{_a(target.url, target.title)}.")
            if rng.random() < 0.15:
                target = self._pick(posts, doc, 0.8)
                self._attach(doc, f"{target.author} made a related point on the blog {BLOG_NAME}, "
                                  f"in {_a(target.url, target.title)}.")
        for path, text in (("/articles/10001", "our 2019 survey of service leaders"),
                           ("/reports/cx-index-2019", "the full index report")):
            self._attach(rng.choice(articles), f"The details are in {_a(path, text)}.")
            self.dead[self.mag.url(path)] = 404
        for doc in insights + cases:
            if rng.random() < 0.5:
                target = self._pick(insights + cases, doc, 0.8)
                self._attach(doc, f"We described a related project in {_a(target.path, target.title)}.")

    def _related(self) -> None:
        rng = self.rng

        def choose(doc: Doc, pool: list[Doc], count: int) -> list[Doc]:
            chosen: list[Doc] = []
            options = [d for d in pool if d is not doc and d.origin is not doc and doc.origin is not d]
            while len(chosen) < count:
                roll = rng.random()
                if roll < 0.65:
                    cands = [d for d in options if d.section == doc.section and d.on_topic == doc.on_topic]
                elif roll < 0.9:
                    cands = [d for d in options if d.on_topic == doc.on_topic]
                else:
                    cands = options
                cands = [d for d in cands if d not in chosen] or [d for d in options if d not in chosen]
                chosen.append(rng.choice(cands))
            return chosen

        for doc in self.blog.docs:
            doc.related = choose(doc, self.blog.docs, 3)
        for doc in self.mag.docs:
            doc.related = choose(doc, self.mag.docs, 4)
        for doc in self.cons.docs:
            doc.related = choose(doc, self.cons.docs, 3)

    # ---------------------------------------------------------------- blog pages

    def _comment_html(self, doc: Doc, comment: Comment, depth: int, reply: bool) -> str:
        author = _esc(comment.author)
        if comment.url:
            author = f'<a href="{_esc(comment.url)}" rel="external nofollow ugc" class="url">{author}</a>'
        replies = [c for c in doc.comments if c.parent == comment.id]
        children = ""
        if replies:
            children = '<ul class="children">' + "".join(
                self._comment_html(doc, r, depth + 1, reply) for r in replies) + "</ul>"
        reply_link = ""
        if reply:
            reply_link = (f'<div class="reply"><a rel="nofollow" class="comment-reply-link" '
                          f'href="{_esc(doc.url)}?replytocom={comment.id}#respond" '
                          f'aria-label="Reply to {_esc(comment.author)}">Reply</a></div>')
        parity = "even" if depth % 2 else "odd"
        byauthor = " bypostauthor" if comment.author == doc.author else ""
        return f"""
<li class="comment {parity} depth-{depth}{byauthor}" id="li-comment-{comment.id}">
  <div id="comment-{comment.id}">
    <div class="comment-author vcard">
      <img alt="" src="/wp-content/avatar.png" class="avatar avatar-40 photo" height="40" width="40" />
      <cite class="fn">{author}</cite> <span class="says">says:</span>
    </div>
    <div class="comment-meta commentmetadata"><a href="{_esc(doc.url)}#comment-{comment.id}">{_comment_date(comment.date)}</a></div>
    <div class="comment-body"><p>{_esc(comment.text)}</p></div>
    {reply_link}
  </div>{children}
</li>"""

    def _comments_html(self, doc: Doc, reply: bool, form_action: str) -> str:
        items = "".join(self._comment_html(doc, c, 1, reply) for c in doc.comments if c.parent == 0)
        count = len(doc.comments)
        title = (f"{count} thoughts on &ldquo;<span>{_esc(doc.title)}</span>&rdquo;" if count
                 else "No comments yet")
        return f"""
<div id="comments" class="comments-area">
<h2 class="comments-title">{title}</h2>
<ol class="commentlist">{items}</ol>
<div id="respond" class="comment-respond"><h3 id="reply-title" class="comment-reply-title">Leave a Reply</h3>
<form action="{form_action}" method="post" id="commentform" class="comment-form">
<p class="comment-form-comment"><label for="comment">Comment</label><textarea id="comment" name="comment" rows="8"></textarea></p>
<p class="comment-form-author"><label for="author">Name</label><input id="author" name="author" type="text" /></p>
<p class="comment-form-url"><label for="url">Website</label><input id="url" name="url" type="url" /></p>
<p class="form-submit"><input name="submit" type="submit" id="submit" value="Post Comment" /><input type="hidden" name="comment_post_ID" value="{doc.number}" /></p>
</form></div></div>"""

    def _blog_posts_newest(self) -> list[Doc]:
        return sorted(self.blog.docs, key=lambda d: d.date, reverse=True)

    def _blog_months(self) -> dict[tuple[int, int], list[Doc]]:
        months: dict[tuple[int, int], list[Doc]] = {}
        for doc in self._blog_posts_newest():
            months.setdefault((doc.date.year, doc.date.month), []).append(doc)
        return months

    def _blog_sidebar(self) -> str:
        newest = self._blog_posts_newest()
        recent = "".join(f"<li>{_a(d.url, d.title)}</li>" for d in newest[:5])
        popular = "".join(f'<li><a href="{_esc(d.url)}?sid={SID}">{_esc(d.title)}</a></li>'
                          for d in self.popular)
        months = self._blog_months()
        archives = "".join(f'<li><a href="{self.blog.url(f"/{y}/{m:02d}/")}">'
                           f'{date(y, m, 1):%B %Y}</a></li>' for y, m in months)
        cats = "".join(f'<li class="cat-item"><a href="{self.blog.url(f"/category/{slug}/")}">{label}</a> '
                       f'({sum(d.section == slug for d in self.blog.docs)})</li>'
                       for slug, label in BLOG_CATS.items())
        latest = newest[0].date
        py, pm = _shift_month(latest.year, latest.month, -1)
        return f"""
<div id="secondary" class="widget-area" role="complementary">
<aside id="search-2" class="widget widget_search"><form role="search" method="get" class="search-form" action="{self.blog.base}/">
<label><span class="screen-reader-text">Search for:</span><input type="search" class="search-field" name="s" /></label><input type="submit" class="search-submit" value="Search" /></form></aside>
<aside id="recent-posts-2" class="widget widget_recent_entries"><h3 class="widget-title">Recent Posts</h3><ul>{recent}</ul></aside>
<aside id="popular-posts-3" class="widget widget_popular"><h3 class="widget-title">Popular Posts</h3><ul>{popular}</ul></aside>
<aside id="calendar-2" class="widget widget_calendar"><h3 class="widget-title">Calendar</h3>
<div class="calendar_wrap"><table id="wp-calendar"><caption>{latest:%B %Y}</caption></table>
<nav class="wp-calendar-nav"><span class="wp-calendar-nav-prev"><a href="/calendar/?month={py}-{pm:02d}">&laquo; {date(py, pm, 1):%b}</a></span>
<span class="wp-calendar-nav-next"><a href="/calendar/?month={latest:%Y-%m}">This month</a></span></nav></div></aside>
<aside id="archives-2" class="widget widget_archive"><h3 class="widget-title">Archives</h3><ul>{archives}</ul></aside>
<aside id="categories-2" class="widget widget_categories"><h3 class="widget-title">Categories</h3><ul>{cats}</ul></aside>
<aside id="meta-2" class="widget widget_meta"><h3 class="widget-title">Meta</h3><ul>
<li><a href="{self.blog.url('/wp-admin/')}">Log in</a></li><li><a href="{self.blog.url('/feed/')}">Entries feed</a></li></ul></aside>
</div>"""

    def _blog_shell(self, title: str, body_class: str, content: str, canonical: str = "",
                    head: str = "", extra_widgets: str = "") -> str:
        b = self.blog.base
        canon = f'<link rel="canonical" href="{_esc(canonical)}" />\n' if canonical else ""
        return f"""<!DOCTYPE html>
<html lang="en-US"><head>
<meta charset="UTF-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>{title}</title>
{canon}<link rel="alternate" type="application/rss+xml" title="{BLOG_NAME} &raquo; Feed" href="{b}/feed/" />
<link rel="stylesheet" id="twentytwelve-style-css" href="{b}/wp-content/themes/twentytwelve/style.css" type="text/css" media="all" />
<meta property="og:site_name" content="{BLOG_NAME}" />
{head}
<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
</head>
<body class="{body_class}">
<div id="page" class="hfeed site">
<header id="masthead" class="site-header" role="banner">
<hgroup><h1 class="site-title"><a href="{b}/" rel="home">{BLOG_NAME}</a></h1>
<h2 class="site-description">Customers, service and the organisations that serve them</h2></hgroup>
<nav id="site-navigation" class="main-navigation" role="navigation"><ul class="nav-menu">
<li class="menu-item"><a href="{b}/">Home</a></li>
<li class="menu-item"><a href="{b}/category/cx-strategy/">CX Strategy</a></li>
<li class="menu-item"><a href="{b}/category/leadership/">Leadership</a></li>
<li class="menu-item"><a href="{b}/about/">About</a></li>
<li class="menu-item"><a href="{b}/contact/">Contact</a></li></ul></nav>
</header>
<div id="main" class="wrapper">
<div id="primary" class="site-content"><div id="content" role="main">
{content}
</div></div>
{self._blog_sidebar()}{extra_widgets}
</div>
<footer id="colophon" role="contentinfo"><div class="site-info">&copy; {BLOG_NAME} &middot;
<a href="https://wordpress.invalid/" title="Semantic Personal Publishing Platform">Proudly powered by WordPress</a></div></footer>
</div></body></html>"""

    def _blog_post(self, doc: Doc) -> tuple[str, datetime]:
        b = self.blog.base
        posts = self._blog_posts_newest()
        index = posts.index(doc)
        nav = ""
        if index + 1 < len(posts):
            older = posts[index + 1]
            nav += f'<span class="nav-previous"><a href="{_esc(older.url)}" rel="prev"><span class="meta-nav">&larr;</span> {_esc(older.title)}</a></span>'
        if index > 0:
            newer = posts[index - 1]
            nav += f'<span class="nav-next"><a href="{_esc(newer.url)}" rel="next">{_esc(newer.title)} <span class="meta-nav">&rarr;</span></a></span>'
        slug = next(k for k, v in BLOG_AUTHORS.items() if v == doc.author)
        tags = ", ".join(_a(f"{b}/tag/{t}/", t.replace("-", " ")) for t in doc.tags)
        tagged = f" Tagged {tags}." if tags else ""
        paragraphs = "\n".join(f"<p>{p}</p>" for p in doc.paragraphs)
        printing = (f'<p class="print-link"><a href="{_esc(doc.url)}?print=1" rel="nofollow">'
                    "Print this post</a></p>" if doc.printable else "")
        related = "".join(f"<li>{_a(r.url, r.title)}</li>" for r in doc.related)
        head = f"""<meta name="description" content="{_esc(doc.summary(25))}" />
<meta property="og:type" content="article" />
<meta property="og:title" content="{_esc(doc.title)}" />
<meta property="og:url" content="{_esc(doc.url)}" />
<meta property="article:published_time" content="{_iso(doc.date)}" />
<meta property="article:modified_time" content="{_iso(doc.modified)}" />
<link rel="shortlink" href="{b}/?p={doc.number}" />
<script type="application/ld+json">{_ld(doc, "Article", BLOG_NAME)}</script>"""
        content = f"""
<article id="post-{doc.number}" class="post-{doc.number} post type-post status-publish format-standard hentry category-{doc.section}">
<header class="entry-header">
<h1 class="entry-title">{_esc(doc.title)}</h1>
<div class="entry-meta">Posted on <a href="{_esc(doc.url)}" rel="bookmark"><time class="entry-date published" datetime="{_iso(doc.date)}">{_long_date(doc.date)}</time></a>
<span class="byline"> by <span class="author vcard"><a class="url fn n" href="{b}/author/{slug}/" rel="author">{_esc(doc.author)}</a></span></span></div>
</header>
<div class="entry-content">
{paragraphs}
{printing}
<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">Share this:</h3><ul>
<li><a class="share-twitter" href="https://share.invalid/twitter?url={_esc(doc.url)}" rel="nofollow noopener" target="_blank">Twitter</a></li>
<li><a class="share-linkedin" href="https://share.invalid/linkedin?url={_esc(doc.url)}" rel="nofollow noopener" target="_blank">LinkedIn</a></li></ul></div>
</div>
<footer class="entry-meta entry-footer">This entry was posted in {_a(f"{b}/category/{doc.section}/", _plain(BLOG_CATS[doc.section]))}.{tagged}
<a href="{_esc(doc.url)}#comments">{_comment_count(doc)}</a></footer>
</article>
<section class="related-posts"><h2 class="related-title">Related posts</h2><ul>{related}</ul></section>
<nav class="nav-single"><h3 class="assistive-text">Post navigation</h3>{nav}</nav>
{self._comments_html(doc, True, f"{b}/wp-comments-post.php")}"""
        page = self._blog_shell(f"{_esc(doc.title)} | {BLOG_NAME}",
                                f"post-template-default single single-post postid-{doc.number}",
                                content, doc.url, head)
        return page, doc.modified

    def _blog_print(self, doc: Doc) -> tuple[str, datetime]:
        paragraphs = "\n".join(f"<p>{p}</p>" for p in doc.paragraphs)
        page = f"""<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8" /><title>{_esc(doc.title)}</title>
<style>body {{ font: 12pt Georgia, serif; max-width: 40em; margin: 2em auto; }}</style></head>
<body class="print-version" onload="window.print()">
<h1>{_esc(doc.title)}</h1>
<p class="print-byline">By {_esc(doc.author)}, {_long_date(doc.date)}</p>
{paragraphs}
<hr /><p class="print-source">Printed from {BLOG_NAME}: {_esc(doc.url)}</p>
</body></html>"""
        return page, doc.modified

    def _blog_entry(self, doc: Doc) -> str:
        return f"""
<article id="post-{doc.number}" class="post-{doc.number} post type-post status-publish hentry">
<header class="entry-header"><h2 class="entry-title">{_a(doc.url, doc.title)}</h2>
<div class="entry-meta"><time class="entry-date" datetime="{_iso(doc.date)}">{_long_date(doc.date)}</time> by {_esc(doc.author)}</div></header>
<div class="entry-summary"><p>{_esc(doc.summary())}</p>
<p><a class="more-link" href="{_esc(doc.url)};jsessionid={JSID}">Continue reading <span class="meta-nav">&rarr;</span></a></p></div>
<footer class="entry-meta"><span class="comments-link"><a href="{_esc(doc.url)}#comments">{_comment_count(doc)}</a></span></footer>
</article>"""

    def _blog_listing(self, heading: str, docs: list[Doc], page: int, pages: int,
                      path_of: Callable[[int], str], body_class: str,
                      extra_widgets: str = "") -> tuple[str, datetime]:
        entries = "".join(self._blog_entry(d) for d in docs)
        nav = ""
        if pages > 1:
            older = (f'<div class="nav-previous"><a href="{self.blog.url(path_of(page + 1))}">'
                     "<span class=\"meta-nav\">&larr;</span> Older posts</a></div>" if page < pages else "")
            newer = (f'<div class="nav-next"><a href="{self.blog.url(path_of(page - 1))}">'
                     "Newer posts <span class=\"meta-nav\">&rarr;</span></a></div>" if page > 1 else "")
            numbers = " ".join(
                f'<a class="page-numbers" href="{self.blog.url(path_of(n))}">{n}</a>' if n != page
                else f'<span aria-current="page" class="page-numbers current">{n}</span>'
                for n in range(1, pages + 1))
            nav = (f'<nav class="navigation paging-navigation"><h3 class="assistive-text">Post navigation</h3>'
                   f"{older}{newer}<div class=\"nav-links\">{numbers}</div></nav>")
        header = f'<header class="archive-header"><h1 class="archive-title">{heading}</h1></header>' if heading else ""
        title = f"{heading} | {BLOG_NAME}" if heading else f"{BLOG_NAME} | Customers, service and the organisations that serve them"
        if page > 1:
            title = f"{heading or BLOG_NAME} | Page {page} | {BLOG_NAME}"
        lastmod = max([d.modified for d in docs] or [self.launched])
        page_html = self._blog_shell(_esc(_plain(title)), body_class, header + entries + nav,
                                     self.blog.url(path_of(page)), extra_widgets=extra_widgets)
        return page_html, lastmod

    def _blog_paginated(self, heading: str, docs: list[Doc], size: int, first: str,
                        body_class: str, extra_widgets: str = "") -> None:
        chunks = _paged(docs, size)

        def path_of(n: int) -> str:
            return first if n == 1 else f"{first}page/{n}/"

        for n, chunk in enumerate(chunks, start=1):
            def render(chunk: list[Doc] = chunk, n: int = n) -> tuple[str, datetime]:
                return self._blog_listing(heading, chunk, n, len(chunks), path_of, body_class,
                                          extra_widgets)
            self.blog.page(path_of(n), "listing", render)

    def _blog_static(self, title: str, paragraphs: list[str], extra_widgets: str = "") -> tuple[str, datetime]:
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        content = (f'<article class="page type-page status-publish hentry"><header class="entry-header">'
                   f'<h1 class="entry-title">{_esc(title)}</h1></header><div class="entry-content">{body}</div></article>')
        return self._blog_shell(f"{_esc(title)} | {BLOG_NAME}", "page-template-default page", content,
                                extra_widgets=extra_widgets), self.launched

    def _calendar(self, request: Request) -> tuple[int, dict[str, str], str]:
        """The calendar trap: any month answers, and prev/next never end."""
        raw = parse_qs(request.query).get("month", [""])[0]
        match = re.fullmatch(r"(\d{4,6})-(\d{1,2})", raw)
        latest = self._blog_posts_newest()[0].date
        year, month = latest.year, latest.month
        if match and int(match[1]) > 0 and 1 <= int(match[2]) <= 12:
            year, month = int(match[1]), int(match[2])
        first_weekday, days = _month_days(year, month)
        posts = {d.date.day: d for d in self.blog.docs if (d.date.year, d.date.month) == (year, month)}
        cells = ["<td class=\"pad\">&nbsp;</td>"] * first_weekday
        for day in range(1, days + 1):
            cells.append(f'<td><a href="{_esc(posts[day].url)}" aria-label="Posts published on {day}">{day}</a></td>'
                         if day in posts else f"<td>{day}</td>")
        cells += ["<td class=\"pad\">&nbsp;</td>"] * (-len(cells) % 7)
        rows = "".join("<tr>" + "".join(cells[i:i + 7]) + "</tr>" for i in range(0, len(cells), 7))
        py, pm = _shift_month(year, month, -1)
        ny, nm = _shift_month(year, month, 1)
        name = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"][month - 1]
        note = "" if posts else "<p>No posts this month.</p>"
        page = f"""<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8" /><title>Calendar: {name} {year} | {BLOG_NAME}</title>
<meta name="robots" content="noindex, follow" /></head>
<body class="archive calendar"><header><a href="{self.blog.base}/">{BLOG_NAME}</a></header>
<main><h1>{name} {year}</h1>{note}
<table id="wp-calendar" class="wp-calendar-table"><thead><tr><th>M</th><th>T</th><th>W</th><th>T</th><th>F</th><th>S</th><th>S</th></tr></thead>
<tbody>{rows}</tbody></table>
<nav class="wp-calendar-nav"><a class="prev" href="/calendar/?month={py}-{pm:02d}">&laquo; Previous month</a>
<a class="next" href="/calendar/?month={ny}-{nm:02d}">Next month &raquo;</a></nav></main></body></html>"""
        return 200, {"Content-Type": HTML}, page

    def _blog_routes(self) -> None:
        site, rng = self.blog, self.rng
        b = site.base
        posts = self._blog_posts_newest()
        self.popular = sorted(rng.sample(posts, 8), key=lambda d: -len(d.comments))[:5]
        for doc in posts:
            site.kinds[doc.url] = "article"
            if doc.printable:
                site.kinds[doc.url + "?print=1"] = "print"

            def route(request: Request, doc: Doc = doc) -> Any:
                if doc.printable and parse_qs(request.query).get("print") == ["1"]:
                    return site.answer(request, *self._blog_print(doc))
                return site.answer(request, *self._blog_post(doc))
            site.route(doc.path, route)
        blogroll = f"""
<aside id="linkcat-2" class="widget widget_links"><h3 class="widget-title">Blogroll</h3><ul class="xoxo blogroll">
<li>{_a(self.mag.url("/"), MAG_NAME)}</li><li>{_a(self.cons.url("/"), CONS_NAME + " (CX consulting)")}</li>
<li>{_a("http://service-notes.invalid/", "Service Notes")}</li><li>{_a("http://cxjournal.invalid/", "The CX Journal")}</li></ul></aside>"""
        self._blog_paginated("", posts, 8, "/", "home blog", blogroll)
        for (year, month), docs in self._blog_months().items():
            self._blog_paginated(f"Monthly Archives: {date(year, month, 1):%B %Y}", docs, 3,
                                 f"/{year}/{month:02d}/", "archive date")
        for slug, label in BLOG_CATS.items():
            docs = [d for d in posts if d.section == slug]
            self._blog_paginated(f"Category Archives: {label}", docs, 5, f"/category/{slug}/",
                                 f"archive category category-{slug}")
        for tag in sorted({t for d in posts for t in d.tags}):
            docs = [d for d in posts if tag in d.tags]
            self._blog_paginated(f"Tag Archives: {tag.replace('-', ' ')}", docs, 10, f"/tag/{tag}/",
                                 f"archive tag tag-{tag}")
        for slug, name in BLOG_AUTHORS.items():
            docs = [d for d in posts if d.author == name]
            self._blog_paginated(f"Author Archives: {name}", docs, 10, f"/author/{slug}/",
                                 "archive author")
        authors = list(BLOG_AUTHORS.values())
        about = [(f"{BLOG_NAME} is written by {authors[0]}, {authors[1]} and {authors[2]}, who "
                  "between them have spent four decades in service operations, research and "
                  "consulting."),
                 ("We write about the customer side of organisations: how service desks are "
                  "staffed, how data is kept, how companies argue about who is responsible for "
                  "what, and the occasional conference we were sent to."),
                 (f"Some of our posts are republished by {_a(self.mag.url('/'), MAG_NAME)}. "
                  "Opinions are our own.")]
        site.page("/about/", "page", lambda: self._blog_static("About", about, blogroll))
        site.page("/contact/", "page", lambda: self._blog_static(
            "Contact", ["Write to us at hello@frontline-notes.invalid. We read everything.",
                        "We do not accept guest posts or sponsored content."]))
        login = ('<!DOCTYPE html><html><head><title>Log In</title></head><body>'
                 '<form id="loginform"><input name="log" /></form></body></html>')
        site.route("/wp-admin/", (200, {"Content-Type": HTML}, login))
        site.route("/calendar/", self._calendar)
        self.traps.append(site.url("/calendar/"))
        robots = ("User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\n"
                  f"Sitemap: {b}/sitemap_index.xml\n")
        site.route("/robots.txt", (200, {"Content-Type": TEXT}, robots))
        site.page("/sitemap_index.xml", None, self._sitemap_index, XML)
        site.page("/post-sitemap.xml", None, self._post_sitemap, XML)
        site.page("/page-sitemap.xml", None, self._page_sitemap, XML)
        site.page("/feed/", None, self._rss, RSS)

    def _blog_lastmod(self) -> datetime:
        return max(d.modified for d in self.blog.docs)

    def _sitemap_index(self) -> tuple[str, datetime]:
        b, last = self.blog.base, self._blog_lastmod()
        body = f"""<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="{b}/main-sitemap.xsl"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{b}/post-sitemap.xml</loc><lastmod>{_iso(last)}</lastmod></sitemap>
<sitemap><loc>{b}/page-sitemap.xml</loc><lastmod>{_iso(self.launched)}</lastmod></sitemap>
</sitemapindex>"""
        return body, last

    def _post_sitemap(self) -> tuple[str, datetime]:
        rows = "".join(f"<url><loc>{_esc(d.url)}</loc><lastmod>{_iso(d.modified)}</lastmod></url>\n"
                       for d in sorted(self.blog.docs, key=lambda d: d.date))
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                f"<url><loc>{self.blog.base}/</loc></url>\n{rows}</urlset>")
        return body, self._blog_lastmod()

    def _page_sitemap(self) -> tuple[str, datetime]:
        b = self.blog.base
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                f"<url><loc>{b}/about/</loc></url>\n<url><loc>{b}/contact/</loc></url>\n</urlset>")
        return body, self.launched

    def _rss(self) -> tuple[str, datetime]:
        b = self.blog.base
        items = "".join(f"""
<item><title>{_esc(d.title)}</title><link>{_esc(d.url)}</link>
<comments>{_esc(d.url)}#comments</comments>
<dc:creator><![CDATA[{d.author}]]></dc:creator>
<pubDate>{format_datetime(d.date, usegmt=True)}</pubDate>
<category><![CDATA[{_plain(BLOG_CATS[d.section])}]]></category>
<guid isPermaLink="false">{b}/?p={d.number}</guid>
<description><![CDATA[{d.summary(45)}]]></description>
<slash:comments>{len(d.comments)}</slash:comments></item>""" for d in self._blog_posts_newest()[:10])
        last = self._blog_lastmod()
        body = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"
 xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel><title>{BLOG_NAME}</title>
<atom:link href="{b}/feed/" rel="self" type="application/rss+xml" />
<link>{b}/</link><description>Customers, service and the organisations that serve them</description>
<lastBuildDate>{format_datetime(last, usegmt=True)}</lastBuildDate><language>en-US</language>
{items}
</channel></rss>"""
        return body, last

    # ---------------------------------------------------------------- magazine pages

    def _mag_articles_newest(self) -> list[Doc]:
        return sorted(self.mag.docs, key=lambda d: d.date, reverse=True)

    def _mag_shell(self, title: str, body_class: str, content: str, canonical: str,
                   head: str = "") -> str:
        nav = "".join(f'<li><a href="/section/{slug}/">{label}</a></li>'
                      for slug, label in MAG_SECTIONS.items())
        most = "".join(f"<li>{_a(d.path, d.title)}</li>" for d in self.most_read)
        partner = self.cons.docs[-1]
        return f"""<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="canonical" href="{_esc(canonical)}">
<link rel="alternate" type="application/atom+xml" title="{MAG_NAME}" href="/feed.atom">
<link rel="stylesheet" href="/static/css/site.min.css">
{head}
</head>
<body class="{body_class}">
<div class="top-bar"><a href="/subscribe">Subscribe</a> &middot; <a href="/admin/login" rel="nofollow">Staff login</a></div>
<header class="site-header">
<a class="logo" href="/"><img src="/static/img/logo.svg" alt="{MAG_NAME}"></a>
<nav class="sections" aria-label="Sections"><ul>{nav}</ul></nav>
<form class="search" action="/search" method="get"><input type="search" name="q" placeholder="Search"></form>
</header>
<div class="layout">
<main id="main">{content}</main>
<aside class="sidebar">
<section class="most-read"><h3>Most Read</h3><ol>{most}</ol></section>
<section class="partner-content"><h3>Partner content</h3>
<p>{_a(self.cons.url("/"), CONS_NAME)}: {_a(partner.url, partner.title)}</p></section>
<section class="newsletter"><h3>The Monday Briefing</h3><p>Our weekly newsletter for operating executives.</p>
<a class="button" href="/subscribe">Sign up</a></section>
</aside>
</div>
<footer class="site-footer"><ul>
<li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li>
<li><a href="/advertise">Advertise</a></li><li><a href="/archive/">Archive</a></li>
<li><a href="/loop/a">Reader survey</a></li><li><a href="/feed.atom">Atom feed</a></li>
<li><a href="/admin/" rel="nofollow">Editors</a></li></ul>
<p>&copy; {MAG_NAME}. All rights reserved.</p></footer>
</body></html>"""

    def _mag_article(self, doc: Doc) -> tuple[str, datetime]:
        label = MAG_SECTIONS[doc.section]
        paragraphs = "\n".join(f"<p>{p}</p>" for p in doc.body)
        note = ""
        if doc.origin is not None:
            note = (f'<p class="syndication-note"><em>This article first appeared on '
                    f'{_a(doc.origin.url, BLOG_NAME)} and is republished with permission.</em></p>')
        related = "".join(f"<li>{_a(r.path, r.title)}</li>" for r in doc.related)
        comments = self._comments_html(doc, False, "/comments/post") if doc.comments else ""
        author_slug = slugify(doc.author)
        head = f"""<meta name="description" content="{_esc(doc.summary(25))}">
<meta property="og:type" content="article">
<meta property="og:title" content="{_esc(doc.title)}">
<meta property="og:url" content="{_esc(doc.url)}">
<meta name="author" content="{_esc(doc.author)}">
<script type="application/ld+json">{_ld(doc, "NewsArticle", MAG_NAME)}</script>"""
        dek = " ".join(_plain(doc.body[0]).split()[:22]) + " \u2026"
        content = f"""
<article class="article-full" id="article-{doc.number}">
<p class="kicker"><a href="/section/{doc.section}/">{label}</a></p>
<h1 class="entry-title headline">{_esc(doc.title)}</h1>
<p class="dek">{_esc(dek)}</p>
<div class="byline">By <a rel="author" href="/authors/{author_slug}">{_esc(doc.author)}</a>
<span class="sep">|</span> <time class="published" datetime="{_iso(doc.date)}">{doc.date:%b} {doc.date.day}, {doc.date.year}</time></div>
<div class="article-body">
{paragraphs}
</div>
{note}
<div class="share"><a href="https://share.invalid/linkedin?url={_esc(doc.url)}" rel="nofollow">Share on LinkedIn</a></div>
</article>
<aside class="related-articles"><h3>Related Articles</h3><ul>{related}</ul></aside>
{comments}"""
        page = self._mag_shell(f"{_esc(doc.title)} | {MAG_NAME}", f"article-page section-{doc.section}",
                               content, doc.url, head)
        return page, doc.modified

    def _mag_teaser(self, doc: Doc) -> str:
        return (f'<li class="teaser"><span class="section-label">{MAG_SECTIONS[doc.section]}</span> '
                f'<h2>{_a(doc.path, doc.title)}</h2><p>{_esc(doc.summary(24))}</p>'
                f'<span class="meta">{_esc(doc.author)} &middot; {doc.date:%b} {doc.date.day}, {doc.date.year}</span></li>')

    def _mag_listing(self, title: str, docs: list[Doc], canonical: str, nav: str = "",
                     intro: str = "", body_class: str = "listing") -> tuple[str, datetime]:
        teasers = "".join(self._mag_teaser(d) for d in docs)
        content = f'<h1 class="page-title">{title}</h1>{intro}<ul class="teasers">{teasers}</ul>{nav}'
        lastmod = max([d.modified for d in docs] or [self.launched])
        return self._mag_shell(f"{title} | {MAG_NAME}", body_class, content, canonical), lastmod

    def _mag_section(self, slug: str, size: int = 8) -> None:
        site = self.mag
        docs = [d for d in self._mag_articles_newest() if d.section == slug]
        chunks = _paged(docs, size)

        def path_of(n: int) -> str:
            return f"/section/{slug}/" if n == 1 else f"/section/{slug}/?page={n}"

        def render(n: int) -> tuple[str, datetime]:
            links = " ".join(
                f'<a href="{path_of(k)}">{k}</a>' if k != n else f'<span class="current">{k}</span>'
                for k in range(1, len(chunks) + 1))
            nxt = f'<a class="next" rel="next" href="{path_of(n + 1)}">Next &raquo;</a>' if n < len(chunks) else ""
            prev = f'<a class="prev" rel="prev" href="{path_of(n - 1)}">&laquo; Previous</a>' if n > 1 else ""
            nav = f'<nav class="pagination">{prev} {links} {nxt}</nav>'
            title = MAG_SECTIONS[slug] + (f" (page {n})" if n > 1 else "")
            return self._mag_listing(title, chunks[n - 1], site.url(path_of(n)), nav,
                                     body_class=f"section section-{slug}")

        def route(request: Request) -> Any:
            raw = parse_qs(request.query).get("page", ["1"])[0]
            if not raw.isdigit() or not 1 <= int(raw) <= len(chunks):
                return site.not_found()
            return site.answer(request, *render(int(raw)))

        for n in range(1, len(chunks) + 1):
            site.kinds[site.url(path_of(n))] = "listing"
        site.route(f"/section/{slug}/", route)

    def _mag_static(self, title: str, paragraphs: list[str], path: str) -> tuple[str, datetime]:
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        content = f'<article class="static-page"><h1 class="entry-title">{_esc(title)}</h1>{body}</article>'
        return self._mag_shell(f"{_esc(title)} | {MAG_NAME}", "static", content, self.mag.url(path)), self.launched

    def _mag_routes(self) -> None:
        site, rng = self.mag, self.rng
        newest = self._mag_articles_newest()
        self.most_read = rng.sample([d for d in newest if d.kind == "article"], 5)
        for doc in newest:
            site.kinds[doc.url] = "syndicated" if doc.origin is not None else "article"
            site.page(doc.path, None, lambda doc=doc: self._mag_article(doc))
            if doc.old_id:
                site.redirect(f"/story/{doc.old_id}", doc.url)
                self.redirects[site.url(f"/story/{doc.old_id}")] = doc.url
        pick = next(d for d in newest if d.old_id)
        site.redirect("/go/editors-pick", f"/story/{pick.old_id}", 302)
        self.redirects[site.url("/go/editors-pick")] = pick.url
        site.redirect("/loop/a", site.url("/loop/b"))
        site.redirect("/loop/b", "/loop/a")
        self.loop = [site.url("/loop/a"), site.url("/loop/b")]
        site.route("/archive/", (500, {"Content-Type": HTML},
                                 "<html><body><h1>Internal Server Error</h1></body></html>"))
        self.dead[site.url("/archive/")] = 500

        def home() -> tuple[str, datetime]:
            intro = (f'<p class="editors-pick">Editor\'s pick: <a href="/go/editors-pick">{_esc(pick.title)}</a></p>'
                     + "".join(f'<p class="section-link"><a href="/section/{s}/">More {label} &raquo;</a></p>'
                               for s, label in MAG_SECTIONS.items()))
            return self._mag_listing("Latest", newest[:12], site.url("/"), intro=intro, body_class="home")
        site.page("/", "listing", home)
        for slug in MAG_SECTIONS:
            self._mag_section(slug)
        for name in MAG_STAFF:
            docs = [d for d in newest if d.author == name]
            path = f"/authors/{slugify(name)}"
            site.page(path, "listing", lambda name=name, docs=docs, path=path: self._mag_listing(
                f"Articles by {name}", docs, site.url(path), body_class="author"))
        statics = {
            "/about": ("About us", [(f"{MAG_NAME} has covered management practice for operating "
                                     "executives since 1998: finance, leadership, technology, "
                                     "retail and marketing."),
                                    "We publish four to six articles a week and a Monday briefing."]),
            "/contact": ("Contact", ["Editorial: editors@bpr.invalid. Sales: sales@bpr.invalid.",
                                     "Our offices are in Chicago and London."]),
            "/advertise": ("Advertise with us", [("Our readers run operations, finance and technology "
                                                   "teams at mid-sized and large companies."),
                                                  "Ask for our media kit."]),
            "/subscribe": ("Subscribe", ["Get the Monday Briefing and unlimited articles.",
                                         "Corporate licences are available for teams."]),
        }
        for path, (title, text) in statics.items():
            site.page(path, "page", lambda title=title, text=text, path=path: self._mag_static(title, text, path))
        admin = (200, {"Content-Type": HTML}, ('<!DOCTYPE html><html><head><title>Editors</title>'
                                               '</head><body><form method="post"><input name="user">'
                                               '</form></body></html>'))
        site.route("/admin/", admin)
        site.route("/admin/login", admin)
        site.route("/robots.txt", (200, {"Content-Type": TEXT},
                                   "User-agent: *\nDisallow: /admin/\nDisallow: /search\n"))
        site.page("/feed.atom", None, self._atom, ATOM)
        site.page("/sitemap.xml", None, self._mag_sitemap, XML)

    def _atom(self) -> tuple[str, datetime]:
        m = self.mag.base
        newest = self._mag_articles_newest()[:15]
        last = max(d.modified for d in self.mag.docs)
        entries = "".join(f"""
<entry><title>{_esc(d.title)}</title><link rel="alternate" type="text/html" href="{_esc(d.url)}"/>
<id>tag:bpr.invalid,{d.date:%Y}:article-{d.number}</id><published>{_iso(d.date)}</published>
<updated>{_iso(d.modified)}</updated><author><name>{_esc(d.author)}</name></author>
<category term="{d.section}"/><summary type="text">{_esc(d.summary(40))}</summary></entry>""" for d in newest)
        body = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>{MAG_NAME}</title><subtitle>Management practice for operating executives</subtitle>
<link rel="self" type="application/atom+xml" href="{m}/feed.atom"/><link rel="alternate" type="text/html" href="{m}/"/>
<id>tag:bpr.invalid,1998:feed</id><updated>{_iso(last)}</updated>{entries}
</feed>"""
        return body, last

    def _mag_sitemap(self) -> tuple[str, datetime]:
        m = self.mag.base
        rows = [f"<url><loc>{m}/</loc><changefreq>daily</changefreq></url>"]
        rows += [f"<url><loc>{m}/section/{s}/</loc></url>" for s in MAG_SECTIONS]
        rows += [f"<url><loc>{_esc(d.url)}</loc><lastmod>{_iso(d.modified)}</lastmod></url>"
                 for d in sorted(self.mag.docs, key=lambda d: d.number)]
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                + "\n".join(rows) + "\n</urlset>")
        return body, max(d.modified for d in self.mag.docs)

    # ---------------------------------------------------------------- consultancy pages

    def _cons_shell(self, title: str, body_class: str, content: str, canonical: str = "",
                    head: str = "") -> str:
        canon = f'<link rel="canonical" href="{_esc(canonical)}">' if canonical else ""
        return f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>{canon}
<link rel="stylesheet" href="/assets/main.css">
{head}
</head>
<body class="{body_class}">
<header class="site-header"><a class="brand" href="/">{CONS_NAME}</a>
<nav class="primary-nav"><ul>
<li><a href="/services/">Services</a></li><li><a href="/case-studies/">Case studies</a></li>
<li><a href="/insights/">Insights</a></li><li><a href="/team/">Team</a></li>
<li><a href="/careers/">Careers</a></li><li><a href="/events/">Events</a></li>
<li><a href="/contact/">Contact</a></li></ul></nav></header>
<main class="content">{content}</main>
<footer class="site-footer"><p>{CONS_NAME} &middot; Customer and operations consulting &middot;
<a href="/about/">About</a> &middot; <a href="https://share.invalid/company/northbeam" rel="me">LinkedIn</a></p>
<p>12 Wharf Street, Leeds &middot; Registered in England</p></footer>
</body></html>"""

    def _cons_doc(self, doc: Doc) -> tuple[str, datetime]:
        member = next(m for m in self.team if m["name"] == doc.author)
        label = "Insight" if doc.kind == "insight" else "Case study"
        paragraphs = "\n".join(f"<p>{p}</p>" for p in doc.paragraphs)
        related = "".join(f"<li>{_a(r.path, r.title)}</li>" for r in doc.related)
        head = f"""<meta name="description" content="{_esc(doc.summary(25))}">
<meta property="og:type" content="article"><meta property="og:title" content="{_esc(doc.title)}">
<script type="application/ld+json">{_ld(doc, "Article", CONS_NAME)}</script>"""
        content = f"""
<article class="{doc.kind} hentry">
<header class="entry-header"><p class="eyebrow">{label}</p><h1 class="entry-title">{_esc(doc.title)}</h1>
<p class="byline">By <a class="author" href="/team/{member['slug']}/">{_esc(doc.author)}</a> &middot;
<time datetime="{_iso(doc.date)}">{doc.date.day} {doc.date:%B %Y}</time></p></header>
<div class="entry-content">
{paragraphs}
</div>
</article>
<section class="related-insights"><h2>You may also like</h2><ul>{related}</ul></section>
<p class="cta">Want to talk about this? <a href="/contact/">Get in touch</a>.</p>"""
        return self._cons_shell(f"{_esc(doc.title)} | {CONS_NAME}", f"single {doc.kind}", content,
                                doc.url, head), doc.modified

    def _cons_list(self, title: str, items: list[tuple[str, str, str]], canonical: str,
                   intro: str = "", nav: str = "", lastmod: datetime | None = None) -> tuple[str, datetime]:
        cards = "".join(f'<li class="card"><h2>{_a(href, name)}</h2><p>{_esc(text)}</p></li>'
                        for href, name, text in items)
        content = f'<h1 class="page-title">{_esc(title)}</h1>{intro}<ul class="cards">{cards}</ul>{nav}'
        return (self._cons_shell(f"{_esc(title)} | {CONS_NAME}", "archive", content, canonical),
                lastmod or self.launched)

    def _events(self, request: Request) -> tuple[int, dict[str, str], str]:
        """The events trap: every day answers and links to the next one."""
        import calendar
        raw = parse_qs(request.query).get("day", [""])[0]
        match = re.fullmatch(r"(\d{4,6})-(\d{1,2})-(\d{1,2})", raw)
        events = {(2024, 3, 14): "Breakfast briefing: rota design for multi-site retail (Leeds)",
                  (2024, 4, 18): "Webinar: forecasting contact volumes after a price change",
                  (2024, 5, 22): "Round table: self-checkout, two years on (Manchester)"}
        if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1 \
                or not 1 <= int(match[3]) <= _month_days(int(match[1]), int(match[2]))[1]:
            items = "".join(f'<li><a href="/events/?day={y}-{m:02d}-{d:02d}">{d} {date(2024, m, d):%B} {y}</a>: '
                            f"{_esc(title)}</li>" for (y, m, d), title in events.items())
            content = f'<h1 class="page-title">Events</h1><ul class="events">{items}</ul>'
            return 200, {"Content-Type": HTML}, self._cons_shell(f"Events | {CONS_NAME}", "events", content)
        year, month, day = int(match[1]), int(match[2]), int(match[3])
        weekday = calendar.day_name[calendar.weekday(_equivalent_year(year), month, day)]
        month_name = calendar.month_name[month]
        title = events.get((year, month, day))
        listing = f"<p>{_esc(title)}</p>" if title else "<p>No events scheduled for this day.</p>"
        py, pm, pd = _shift_day(year, month, day, -1)
        ny, nm, nd = _shift_day(year, month, day, 1)
        content = f"""<h1 class="page-title">{weekday} {day} {month_name} {year}</h1>{listing}
<nav class="day-nav"><a class="prev" href="/events/?day={py}-{pm:02d}-{pd:02d}">&larr; Previous day</a>
<a class="next" href="/events/?day={ny}-{nm:02d}-{nd:02d}">Next day &rarr;</a>
<a href="/events/">All events</a></nav>"""
        return 200, {"Content-Type": HTML}, self._cons_shell(
            f"Events on {day} {month_name} {year} | {CONS_NAME}", "events day", content)

    def _cons_routes(self) -> None:
        site = self.cons
        insights = sorted((d for d in site.docs if d.kind == "insight"), key=lambda d: d.date, reverse=True)
        cases = sorted((d for d in site.docs if d.kind == "case"), key=lambda d: d.date, reverse=True)
        for doc in insights + cases:
            site.kinds[doc.url] = "article"
            site.page(doc.path, None, lambda doc=doc: self._cons_doc(doc))
        chunks = _paged(insights, 6)

        def insights_path(n: int) -> str:
            return "/insights/" if n == 1 else f"/insights/page/{n}/"

        for n, chunk in enumerate(chunks, start=1):
            def render(n: int = n, chunk: list[Doc] = chunk) -> tuple[str, datetime]:
                nav = " ".join(f'<a class="page-numbers" href="{insights_path(k)}">{k}</a>'
                               for k in range(1, len(chunks) + 1) if k != n)
                items = [(d.path, d.title, d.summary(22)) for d in chunk]
                return self._cons_list("Insights" + (f" (page {n})" if n > 1 else ""), items,
                                       site.url(insights_path(n)),
                                       nav=f'<nav class="pagination">Pages: {nav}</nav>',
                                       lastmod=max(d.modified for d in chunk))
            site.page(insights_path(n), "listing", render)
        site.page("/case-studies/", "listing", lambda: self._cons_list(
            "Case studies", [(d.path, d.title, d.summary(22)) for d in cases], site.url("/case-studies/"),
            lastmod=max(d.modified for d in cases)))
        for service in self.services:
            path = f"/services/{service['slug']}/"
            site.page(path, "page", lambda service=service, path=path: (self._cons_shell(
                f"{_esc(service['title'])} | {CONS_NAME}", "page service",
                f'<h1 class="entry-title">{_esc(service["title"])}</h1>'
                + "".join(f"<p>{p}</p>" for p in service["body"])
                + '<p class="cta"><a href="/case-studies/">See our case studies</a></p>',
                site.url(path)), self.launched))
        site.page("/services/", "listing", lambda: self._cons_list(
            "Services", [(f"/services/{s['slug']}/", s["title"], _plain(s["body"][0])) for s in self.services],
            site.url("/services/")))
        for job in self.jobs:
            path = f"/careers/{job['slug']}/"
            site.page(path, "page", lambda job=job, path=path: (self._cons_shell(
                f"{_esc(job['title'])} | Careers | {CONS_NAME}", "page job",
                f'<h1 class="entry-title">{_esc(job["title"])}</h1>'
                + "".join(f"<p>{p}</p>" for p in job["body"])
                + "<p>Apply to careers@northbeam.invalid.</p>", site.url(path)), self.launched))
        site.page("/careers/", "listing", lambda: self._cons_list(
            "Careers", [(f"/careers/{j['slug']}/", j["title"], "Full time, hybrid.") for j in self.jobs],
            site.url("/careers/"), intro="<p>We are a small firm and hire a few people each year.</p>"))
        for member in self.team:
            path = f"/team/{member['slug']}/"
            own = [d for d in insights if d.author == member["name"]]
            writing = "".join(f"<li>{_a(d.path, d.title)}</li>" for d in own)
            site.page(path, "page", lambda member=member, path=path, writing=writing: (self._cons_shell(
                f"{_esc(member['name'])} | {CONS_NAME}", "page person",
                f'<h1 class="entry-title">{_esc(member["name"])}</h1><p class="role">{_esc(member["role"])}</p>'
                + "".join(f"<p>{_esc(p)}</p>" for p in member["bio"])
                + (f"<h2>Writing</h2><ul>{writing}</ul>" if writing else ""), site.url(path)), self.launched))
        site.page("/team/", "listing", lambda: self._cons_list(
            "Our team", [(f"/team/{m['slug']}/", m["name"], m["role"]) for m in self.team], site.url("/team/")))
        site.page("/about/", "page", lambda: (self._cons_shell(
            f"About | {CONS_NAME}", "page", f"<h1 class=\"entry-title\">About {CONS_NAME}</h1>"
            "<p>We are a customer and operations consultancy founded in 2009. We help retailers, "
            "utilities and service businesses run stores, contact centres and back offices that "
            "work for the people who use them.</p><p>Our team combines operational research, "
            "service design and data analysis.</p>", site.url("/about/")), self.launched))
        site.page("/contact/", "page", lambda: (self._cons_shell(
            f"Contact | {CONS_NAME}", "page", "<h1 class=\"entry-title\">Contact</h1>"
            "<p>hello@northbeam.invalid &middot; 12 Wharf Street, Leeds</p>", site.url("/contact/")),
            self.launched))

        def home() -> tuple[str, datetime]:
            latest = "".join(f"<li>{_a(d.path, d.title)}</li>" for d in insights[:3])
            work = "".join(f"<li>{_a(d.path, d.title)}</li>" for d in cases[:3])
            services = "".join(f'<li><a href="/services/{s["slug"]}/">{_esc(s["title"])}</a></li>'
                               for s in self.services)
            content = (f'<section class="hero"><h1>Operations that work for customers</h1>'
                       "<p>We help retailers and service businesses fix the processes behind "
                       "their stores and contact centres.</p></section>"
                       f"<section><h2>What we do</h2><ul>{services}</ul></section>"
                       f"<section><h2>Recent work</h2><ul>{work}</ul></section>"
                       f"<section><h2>Latest insights</h2><ul>{latest}</ul></section>")
            return self._cons_shell(f"{CONS_NAME} | Customer and operations consulting", "home",
                                    content, site.url("/")), max(d.modified for d in site.docs)
        site.page("/", "listing", home)
        site.route("/events/", self._events)
        self.traps.append(site.url("/events/"))
        site.route("/robots.txt", (200, {"Content-Type": TEXT}, "User-agent: *\nDisallow: /wp-json/\n"))

    # ---------------------------------------------------------------- lookups

    def find(self, url: str) -> Doc | None:
        parts = urlsplit(url)
        path = parts.path.split(";", 1)[0]
        for site in (self.blog, self.mag, self.cons):
            if urlsplit(site.base).netloc != parts.netloc:
                continue
            for candidate in (path, path.rstrip("/"), path.rstrip("/") + "/"):
                doc = site.doc(site.url(candidate))
                if doc is not None:
                    return doc
        return None


# --------------------------------------------------------------------------- public API


@dataclass
class CrawlWeb:
    """The three running sites and the truth about their pages (see the module docstring)."""

    blog: LocalServer
    magazine: LocalServer
    consultancy: LocalServer
    on_topic: set[str]  # canonical URLs of on-topic article pages (no print versions, no syndicated copies)
    off_topic: set[str]  # canonical URLs of the other article pages (posts, articles, insights, case studies)
    duplicates: dict[str, str]  # near-duplicate URL (print version, syndicated copy) -> original URL
    page_kinds: dict[str, str] = field(default_factory=dict)  # every real page -> article | print | syndicated | listing | page
    redirects: dict[str, str] = field(default_factory=dict)  # old address -> where it lands
    dead: dict[str, int] = field(default_factory=dict)  # linked URLs that answer 404 or 500
    loop: list[str] = field(default_factory=list)  # the two URLs that redirect to each other
    traps: list[str] = field(default_factory=list)  # URL prefixes of endless trap pages
    _builder: Any = field(default=None, repr=False)

    def site_of(self, url: str) -> str:
        netloc = urlsplit(url).netloc
        for name, server in (("blog", self.blog), ("magazine", self.magazine),
                             ("consultancy", self.consultancy)):
            if urlsplit(server.url("/")).netloc == netloc:
                return name
        raise ValueError(f"not a URL of this web: {url}")

    def servers(self) -> list[LocalServer]:
        return [self.blog, self.magazine, self.consultancy]

    def requests(self) -> list[tuple[str, Request]]:
        out: list[tuple[str, Request]] = []
        for name, server in (("blog", self.blog), ("magazine", self.magazine),
                             ("consultancy", self.consultancy)):
            with server._lock:
                out += [(name, r) for r in server.requests]
        return out

    def add_comment(self, url: str, author: str, text: str) -> None:
        doc = self._builder.find(url)
        if doc is None or doc.origin is not None:
            raise KeyError(f"no article with comments at {url}")
        last = max([doc.modified] + [c.date for c in doc.comments])
        moment = last + timedelta(days=1)
        doc.comments.append(Comment(next(self._builder.comment_ids), author, text, moment))
        doc.modified = moment

    def pages(self) -> int:
        return len(self.page_kinds)

    def article_text(self, url: str) -> str:
        """The plain text of an article's body (paragraphs separated by blank lines)."""
        doc = self._builder.find(url)
        if doc is None:
            raise KeyError(url)
        return doc.text()

    def topic_of(self, url: str) -> str:
        """The generator's theme of an article page ("on" for the debate)."""
        doc = self._builder.find(url)
        if doc is None:
            raise KeyError(url)
        return doc.theme


@contextmanager
def crawl_web(seed: int = 7) -> Iterator[CrawlWeb]:
    """Start the three sites (generated from ``seed``), yield the web, stop them."""
    blog, magazine, consultancy = LocalServer(), LocalServer(), LocalServer()
    with blog, magazine, consultancy:
        builder = _Builder(seed, blog, magazine, consultancy)
        docs = builder.blog.docs + builder.mag.docs + builder.cons.docs
        kinds = {**builder.blog.kinds, **builder.mag.kinds, **builder.cons.kinds}
        yield CrawlWeb(
            blog=blog, magazine=magazine, consultancy=consultancy,
            on_topic={d.url for d in docs if d.on_topic and d.origin is None},
            off_topic={d.url for d in docs if not d.on_topic},
            duplicates=dict(builder.duplicates), page_kinds=kinds,
            redirects=dict(builder.redirects), dead=dict(builder.dead), loop=list(builder.loop),
            traps=list(builder.traps), _builder=builder)
