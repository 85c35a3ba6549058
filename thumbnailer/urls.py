from django.urls import path

from . import views

app_name = "thumbnailer"
urlpatterns = [
    path("", views.upload, name="upload"),
    path("jobs/<uuid:pk>/", views.detail, name="detail"),
    path("jobs/<uuid:pk>/progress", views.progress, name="progress"),
    path("jobs/<uuid:pk>/status.json", views.status, name="status"),
    path("jobs/<uuid:pk>/download", views.download, name="download"),
    path("jobs/<uuid:pk>/cancel", views.cancel, name="cancel"),
    path("jobs/<uuid:pk>/retry", views.retry, name="retry"),
    path("jobs/<uuid:pk>/share", views.share, name="share"),
    path("jobs/<uuid:pk>/share/revoke", views.share_revoke, name="share_revoke"),
    path("jobs/<uuid:pk>/images/<int:image_id>/<int:size>", views.thumbnail, name="thumbnail"),
]
