"""Without a browser, on every page an administrator can open: each form control has a label (a
<label> around it or for it, or aria-label/aria-labelledby), and every id that aria-describedby
or aria-labelledby names exists, so help texts and errors reach a screen reader. A form sent back
with errors ties each error to its control too."""
from html.parser import HTMLParser

from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from core.roles import ADMINISTRATOR
from tests.ui.test_pages_browser import build_data, page_urls, url_arguments

NO_LABEL_NEEDED = {"hidden", "submit", "button", "reset", "image"}


class Controls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.label_for, self.controls, self.references = set(), set(), [], []
        self.open_labels = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for aria in ("aria-describedby", "aria-labelledby"):
            if attrs.get(aria):
                self.references += [(tag, attrs.get("name") or attrs.get("id"), aria, ref)
                                    for ref in attrs[aria].split()]
        if tag == "label":
            self.open_labels += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea") and attrs.get("type", "text") not in NO_LABEL_NEEDED:
            self.controls.append((tag, attrs, self.open_labels > 0))

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1

    def problems(self, where: str) -> list[str]:
        found = []
        for tag, attrs, wrapped in self.controls:
            named = wrapped or attrs.get("aria-label") or attrs.get("aria-labelledby") or (
                attrs.get("id") in self.label_for)
            if not named:
                found.append(f"{where}: <{tag} name={attrs.get('name')!r}> has no label")
        found += [f"{where}: <{tag} {name}> {aria} names a missing id {ref!r}"
                  for tag, name, aria, ref in self.references if ref not in self.ids]
        return found


def check(html: str, where: str) -> list[str]:
    parser = Controls()
    parser.feed(html)
    problems = parser.problems(where)
    if "[invalid name]" in html:  # django-filter's label for a filter it could not name
        problems.append(f"{where}: a control labelled [invalid name]")
    return problems


def test_every_control_is_labelled_and_every_description_exists(db, make_user):
    inv, hvc, job = build_data()
    users = {"ada": make_user("ada", ADMINISTRATOR), "vera": make_user("vera")}
    client = Client()
    client.force_login(get_user_model().objects.get(username="ada"))
    problems = check(Client().get(reverse("login")).content.decode(), "login")
    pages = page_urls(url_arguments(inv, hvc, job, users))
    for name, url in pages:
        problems += check(client.get(url).content.decode(), f"{name} {url}")
    remediate = client.get(reverse("compliance:remediate"), {"selected": f"cluster:{hvc.pk}"}, HTTP_HX_REQUEST="true")
    problems += check(remediate.content.decode(), "Remediate dialog")
    assert not problems, "\n" + "\n".join(problems)
    assert len(pages) > 40


def test_errors_are_tied_to_their_controls(admin_client_ferry):
    page = admin_client_ferry.post(reverse("fabric:runas_add"), {"name": "", "username": "svc"}).content.decode()
    assert 'aria-invalid="true"' in page and 'aria-describedby="id_name_error"' in page
    assert 'id="id_name_error"' in page
    assert not check(page, "Run As account with errors")
