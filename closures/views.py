from django.db.models import Prefetch
from django.views.generic import DetailView, ListView

from .models import Citation, Event, Organisation


class OrganisationListView(ListView):
    template_name = "closures/organisation_list.html"
    context_object_name = "organisations"
    paginate_by = 50

    def get_queryset(self):
        return Organisation.objects.public().for_listing()


class OrganisationDetailView(DetailView):
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
