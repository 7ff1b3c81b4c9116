from django.urls import path

from . import ledger_views, publish_views, task_views, views

app_name = "insights"
urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("u/<str:code>/", views.dashboard_view, name="unit"),
    path("u/<str:code>/refresh/", views.refresh_view, name="refresh"),
    path("work/", views.work, name="work"),
    # weekly ledger, evaluation and reports
    path("ledgers/", ledger_views.board_view, name="ledgers"),
    path("ledgers/export/", ledger_views.ledgers_export, name="ledgers-export"),
    path("ledgers/config/", ledger_views.ledger_config, name="ledger-config"),
    path("ledgers/unit/<str:code>/", ledger_views.ledger_history, name="ledger-history"),
    path("ledgers/<int:pk>/", ledger_views.ledger_view, name="ledger"),
    path("ledgers/<int:pk>/return/", ledger_views.ledger_return, name="ledger-return"),
    path("ranking/", ledger_views.ranking_view, name="ranking"),
    path("ranking/evaluate/", ledger_views.evaluate_now, name="evaluate"),
    path("ranking/export/", ledger_views.ranking_export, name="ranking-export"),
    path("ranking/scheme/<int:pk>/", ledger_views.scheme_edit, name="scheme"),
    path("report/", ledger_views.report_pdf, name="report"),
    # tasks down the hierarchy
    path("tasks/", task_views.task_list, name="tasks"),
    path("tasks/new/", task_views.task_create, name="task-create"),
    path("tasks/<int:pk>/", task_views.task_detail, name="task"),
    path("tasks/<int:pk>/close/", task_views.task_close, name="task-close"),
    path("tasks/<int:pk>/export/", task_views.task_export, name="task-export"),
    path("tasks/<int:pk>/units/<int:aid>/", task_views.assignment_detail, name="assignment"),
    path("tasks/<int:pk>/units/<int:aid>/report/", task_views.assignment_report, name="assignment-report"),
    path("tasks/<int:pk>/units/<int:aid>/comment/", task_views.assignment_comment, name="assignment-comment"),
    path("tasks/<int:pk>/units/<int:aid>/reopen/", task_views.assignment_reopen, name="assignment-reopen"),
    path("files/attachment/<int:pk>/", task_views.attachment_file, name="attachment"),
    path("files/evidence/<int:pk>/", task_views.evidence_file, name="evidence"),
    path("files/checklist/<int:pk>/", task_views.checklist_file, name="checklist-file"),
    # key-city checklist
    path("checklists/", publish_views.checklists, name="checklists"),
    path("checklists/<int:pk>/track/", publish_views.checklist_track, name="checklist-track"),
    path("checklists/<int:pk>/items/", publish_views.checklist_items, name="checklist-items"),
    path("checklists/entries/<int:pk>/", publish_views.checklist_entry, name="checklist-entry"),
    # publishing
    path("news/", publish_views.publication_list, name="publications"),
    path("news/new/", publish_views.publication_edit, name="publication-create"),
    path("news/<int:pk>/", publish_views.publication_detail, name="publication"),
    path("news/<int:pk>/edit/", publish_views.publication_edit, name="publication-edit"),
    path("news/<int:pk>/publish/", publish_views.publication_publish, name="publication-publish"),
    path("news/<int:pk>/unread/", publish_views.publication_unread, name="publication-unread"),
]
