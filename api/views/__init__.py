"""The REST API's views: the fabric (read), compliance, jobs, and submitting work. The token pages
(for people, not scripts) are in `api.views.tokens`."""
