from django.urls import path

from tuanju.organizations import views

app_name = "organizations"
urlpatterns = [
    path("", views.org_list, name="list"),
    path("new/", views.create, name="create"),
    path("export/", views.export, name="export"),
    path("units/", views.by_unit, name="by-unit"),
    path("import/", views.import_upload, name="import"),
    path("import/template/", views.import_template, name="import-template"),
    path("import/<int:pk>/", views.import_job, name="import-job"),
    path("import/<int:pk>/progress/", views.import_progress, name="import-progress"),
    path("import/<int:pk>/report/", views.import_report, name="import-report"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/logo/", views.logo, name="logo"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:pk>/members/add/", views.member_add, name="member-add"),
    path("<int:pk>/members/<int:mid>/edit/", views.member_edit, name="member-edit"),
    path("<int:pk>/members/<int:mid>/leave/", views.member_leave, name="member-leave"),
    path("<int:pk>/members/<int:mid>/leader/", views.member_make_leader, name="member-leader"),
    path("<int:pk>/groups/add/", views.group_add, name="group-add"),
    path("<int:pk>/groups/<int:gid>/leave/", views.group_leave, name="group-leave"),
    path("<int:pk>/projects/new/", views.project_create, name="project-create"),
    path("<int:pk>/projects/<int:project_id>/edit/", views.project_edit, name="project-edit"),
    path("<int:pk>/projects/<int:project_id>/delete/", views.project_delete, name="project-delete"),
    path("<int:pk>/absorptions/new/", views.absorption_create, name="absorption-create"),
    path("<int:pk>/absorptions/<int:entry_id>/delete/", views.absorption_delete, name="absorption-delete"),
    path("alliances/", views.alliance_list, name="alliance-list"),
    path("alliances/new/", views.alliance_create, name="alliance-create"),
    path("alliances/<int:pk>/", views.alliance_detail, name="alliance-detail"),
    path("alliances/<int:pk>/edit/", views.alliance_edit, name="alliance-edit"),
    path("alliances/<int:pk>/members/add/", views.alliance_member_add, name="alliance-member-add"),
    path(
        "alliances/<int:pk>/members/<int:mid>/edit/", views.alliance_member_edit, name="alliance-member-edit"
    ),
    path(
        "alliances/<int:pk>/members/<int:mid>/remove/",
        views.alliance_member_remove,
        name="alliance-member-remove",
    ),
    path("alliances/<int:pk>/council/", views.alliance_council, name="alliance-council"),
    path("alliances/<int:pk>/schedule/", views.alliance_schedule, name="alliance-schedule"),
    path("alliances/<int:pk>/schedule/<str:month>/", views.alliance_duty, name="alliance-duty"),
    path("alliances/<int:pk>/meetings/new/", views.meeting_create, name="meeting-create"),
    path("alliances/<int:pk>/meetings/<int:meeting_id>/", views.meeting_edit, name="meeting-edit"),
]
