from django.urls import path

from tuanju.people import views

app_name = "people"
urlpatterns = [
    path("", views.person_list, name="list"),
    path("new/", views.create, name="create"),
    path("bulk/", views.bulk, name="bulk"),
    path("export/", views.export, name="export"),
    path("duties/", views.duties, name="duties"),
    path("import/", views.import_upload, name="import"),
    path("import/template/", views.import_template, name="import-template"),
    path("import/<int:pk>/", views.import_job, name="import-job"),
    path("import/<int:pk>/progress/", views.import_progress, name="import-progress"),
    path("import/<int:pk>/report/", views.import_report, name="import-report"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:pk>/contacts/", views.add_contact, name="add-contact"),
]
