from django.db.models import Prefetch
from django.views.generic import DetailView, ListView

from .filters import RegistryFilterSet
from .models import Citation, Event, Organisation


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
