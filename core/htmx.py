"""Answers that work with and without htmx. One place decides "partial or page", one sends the
browser elsewhere; the responses themselves are django-htmx's."""
from django.shortcuts import redirect
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect


def requested_partial(request, partials: dict[str, str]) -> str | None:
    """The id of the element an htmx request swaps, when `partials` has a template for it.

    Boosted navigation and history restores want the whole page, whatever they target."""
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted and not htmx.history_restore_request and htmx.target in partials:
        return htmx.target
    return None


def partial_or_page(request, page: str, partials: dict[str, str]) -> str:
    """The template to render: the partial the request targets, or the whole page."""
    target = requested_partial(request, partials)
    return partials[target] if target else page


def vary_on_target(response):
    """Caches must not hand a partial to a page request, or one partial for another."""
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def go_to(request, url: str):
    """Send the browser to `url`: an htmx request gets HX-Redirect (a 302 would be followed inside
    the XHR and its page swapped in), a plain form a redirect."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


class PartialTemplateMixin:
    """Render only a named partial when htmx asks to swap the element with that id."""

    partials: dict[str, str] = {}

    def partial_requested(self) -> str | None:
        return requested_partial(self.request, self.partials)

    def get_template_names(self):
        target = self.partial_requested()
        return [self.partials[target]] if target else super().get_template_names()

    def render_to_response(self, context, **kwargs):
        return vary_on_target(super().render_to_response(context, **kwargs))
