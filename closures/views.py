from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import render
from django.views.generic import DetailView, ListView

from .filters import RegistryFilterSet
from .models import Citation, Event, Organisation


class WithdrawnRecordMixin:
    """Answer 410 Gone, with the public reason, at the address of a withdrawn record.

    Only a record that was once public qualifies: a withdrawn draft or an embargoed record
    stays a plain 404, so the address reveals nothing that was never published.
    """

    withdrawn_template_name = "closures/organisation_withdrawn.html"

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            withdrawn = (
                Organisation.objects.withdrawn_publicly().filter(slug=kwargs.get("slug")).first()
            )
            if withdrawn is None:
                raise
            context = {"organisation": withdrawn}
            return render(request, self.withdrawn_template_name, context, status=410)


class OrganisationListView(ListView):
    template_name = "closures/organisation_list.html"
    context_object_name = "organisations"
    paginate_by = 50

    def get_queryset(self):
        self.filterset = RegistryFilterSet(
            self.request.GET, queryset=Organisation.objects.public().for_listing()
        )
        if not self.filterset.is_valid():
            return Organisation.objects.none()
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        return super().get_context_data(filter=self.filterset, **kwargs)


class OrganisationDetailView(WithdrawnRecordMixin, DetailView):
    template_name = "closures/organisation_detail.html"
    context_object_name = "organisation"

    def get_queryset(self):
        public_events = (
            Event.objects.public()
            .chronological()
            .prefetch_related(
                "reasons",
                Prefetch("citations", queryset=Citation.objects.select_related("source")),
            )
        )
        return Organisation.objects.public().prefetch_related(
            "aliases", Prefetch("events", queryset=public_events, to_attr="public_events")
        )
