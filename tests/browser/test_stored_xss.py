"""Stored XSS, probed in a real browser with the site's CSP on: markup in every field a person can fill
(titles, descriptions, keywords, file names, comments, review comments, names of people, schools, areas and
vocabulary terms, competitions, point awards, token names, a searched word) is stored, then every page each kind
of user can reach by following links is opened in Chromium. No page may run the markup (the probe function it
calls is never called), carry it as live elements, or trip the CSP (a blocked inline script or handler means
the markup reached the DOM and only the CSP stopped it)."""
import re
from collections import Counter
from urllib.parse import quote, urljoin, urlsplit

import pytest
from test_journeys import log_in

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import Unit
from reslib.services import accounts, library, review, usage, vocabularies
from reslib.testing import ready_resource

pytestmark = [pytest.mark.browser, pytest.mark.hard]

# Calls __x() in every way markup can: a tag, an attribute breaking out of quotes, an event handler; and a
# template expression that a server-side template injection would turn into 49.
MARKUP = "\"'><img src=x onerror=__x()><svg onload=__x()>{{7*7}}"  # 52 characters: fits a vocabulary term
PAYLOAD = MARKUP + "<script>__x()</script>"
LINK = "https://example.org/\"><script>__x()</script>"

# Before any page script: __x records a call; every CSP violation is kept.
PROBE = """
window.__calls = [];
window.__x = () => window.__calls.push(location.href);
window.__violations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + (e.sample || e.blockedURI)));
"""
# Elements the markup would create if it reached the DOM unescaped.
LIVE_MARKUP = """() => [...document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload]')]
    .map(e => e.outerHTML.slice(0, 80))
    .concat([...document.scripts].filter(s => s.textContent.includes('__x')).map(s => s.outerHTML.slice(0, 80)))"""

# Not pages: files, JSON, and what would end the session.
SKIP = re.compile(r"/(download|preview|cover|thumb|file)\b|\.(pdf|xlsx|zip|xsd)\b|^/api/|^/static/|/search/suggest|/logout"
                  r"|/export\b")
PAGES_PER_ROLE = 70
PER_SHAPE = 2  # pages of one shape (numbers aside: /resources/7, /resources/9) opened per role


@pytest.fixture
def extend_district():
    def hostile(district):
        admin = district.district_admin
        district.school_c.name = "光明小学" + MARKUP
        db.session.get(Unit, district.school_c.unit_id).name = "西城" + MARKUP
        term = vocabularies.add_term(admin, "subject", MARKUP)
        text = {field: PAYLOAD for field in ("title", "description", "keywords", "presenters", "chapter",
                                             "copyright_holder")}
        published = ready_resource(district.teacher_a, status="published", subject_id=term.id,
                                   file_name=PAYLOAD + ".pdf", content=b"%PDF-1.4 xss probe",
                                   catalogue_xml="<目录><章>&lt;script&gt;__x()&lt;/script&gt;</章></目录>", **text)
        usage.rate(district.student_a, published, 4, PAYLOAD)
        returned = ready_resource(district.teacher_a, title="退回的" + PAYLOAD, content=b"%PDF-1.4 returned")
        review.submit(district.teacher_a, returned)
        review.school_decision(district.admin_a, returned, "return", PAYLOAD, {"title": PAYLOAD})
        library.create_link(district.teacher_a, LINK, PAYLOAD)
        district.pending_a.real_name = PAYLOAD  # what a registration form would refuse, the pages must still escape
        district.pending_a.identifier = "S" + MARKUP
        accounts.create_token(district.teacher_a, PAYLOAD)
        with pytest.raises(ReslibError):
            accounts.authenticate(PAYLOAD, "wrong")  # the audit log keeps the name that was tried
        from plugins.awards import service as awards
        from plugins.points import service as points

        competition = awards.create_competition(admin, PAYLOAD, 2026, PAYLOAD)
        awards.set_status(admin, competition, "open")
        points.award(admin, district.student_a, 5, PAYLOAD)
        from plugins.sync_provincial import harvest, rounds

        round_ = rounds.save_round(admin, None, {
            "title": PAYLOAD, "platform": PAYLOAD, "year": "2026", "sections": ["德育"], "min_per_section": "10",
            "deadline": "2100-01-01", "contact": {"unit": PAYLOAD}})
        rounds.propose(admin, round_, published, "德育", "爱国主义", PAYLOAD)
        harvest.save_source(admin, None, {"name": PAYLOAD, "kind": "oai", "base_url": "https://example.org/oai",
                                          "metadata_prefix": "nsr", "mode": "link", "school_id": "district",
                                          "interval_hours": "24", "enabled": False})
        db.session.commit()
        hostile.ids = {"published": published.id, "returned": returned.id}

    return hostile


def shape(url: str) -> str:
    parts = urlsplit(url)
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(sorted(re.findall(r"([^&=]+)=", parts.query)))


def crawl(page, base: str, seeds: list[str]) -> list[str]:
    """Open the seeds and every same-site page linked from what was opened, breadth first; returns the
    problems found on them."""
    problems, opened, shapes = [], set(), Counter()
    queue = list(seeds)
    while queue and len(opened) < PAGES_PER_ROLE:
        url = urljoin(base, queue.pop(0)).split("#")[0]
        path = url.removeprefix(base)
        if not url.startswith(base) or url in opened or SKIP.search(urlsplit(path).path) or shapes[shape(url)] >= PER_SHAPE:
            continue
        opened.add(url)
        shapes[shape(url)] += 1
        response = page.goto(url)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        if "default-src 'self'" not in response.headers.get("content-security-policy", ""):
            problems.append(f"{path}: served without the CSP")
        calls, violations = page.evaluate("[window.__calls, window.__violations]")
        live = page.evaluate(LIVE_MARKUP)
        if calls or violations or live:
            problems.append(f"{path}: ran {calls}, CSP blocked {violations}, live markup {live}")
        if "__x()>49" in page.inner_text("body"):
            problems.append(f"{path}: a template expression in stored text was evaluated")
        queue.extend(page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"))
    assert len(opened) >= 10, f"the crawl reached only {sorted(opened)}"
    return problems


@pytest.mark.parametrize("username", ["student.a", "teacher.a", "admin.a", "admin"])
def test_no_page_runs_stored_markup(live_server, browser, extend_district, username):
    context = browser.new_context(locale="zh-CN")
    context.add_init_script(PROBE)
    page = context.new_page()
    log_in(page, live_server, username)
    page.wait_for_url("**/dashboard")
    ids = extend_district.ids
    seeds = ["/dashboard", "/library", f"/resources/{ids['published']}", f"/resources/{ids['returned']}/review",
             f"/resources/{ids['returned']}/edit", "/search?q=" + quote(MARKUP), "/search?q=" + quote(PAYLOAD[:90]),
             "/my/resources", "/profile", "/review", "/admin/audit", "/admin/verifications", "/admin/accounts",
             "/admin/taxonomy", "/admin/schools", "/awards/", "/points/award", "/provincial/rounds",
             "/provincial/harvest/"]
    problems = crawl(page, live_server, seeds)
    context.close()
    assert not problems, "\n".join(problems)
