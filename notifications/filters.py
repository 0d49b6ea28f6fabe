"""Filters for the delivery log (django-filter), labelled like its columns."""
import django_filters
from django import forms

from core.filters import SearchFilterSet
from notifications.choices import Channel, DeliveryStatus, Event
from notifications.models import Delivery


class DeliveryFilterSet(SearchFilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Target", "autocomplete": "off"}),
    )
    search_fields = ("target",)
    event = django_filters.ChoiceFilter(choices=Event.choices, empty_label="Any event")
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices, empty_label="Any status")
    channel = django_filters.ChoiceFilter(choices=Channel.choices, empty_label="Any channel")

    class Meta:
        model = Delivery
        fields = ["q", "event", "status", "channel"]
