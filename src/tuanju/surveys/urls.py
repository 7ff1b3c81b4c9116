from django.urls import path

from tuanju.surveys import views

app_name = "surveys"
urlpatterns = [
    path("", views.survey_list, name="list"),
    path("new/", views.survey_edit, name="create"),
    path("portraits/", views.group_portrait, name="group-portrait"),
    path("portraits/person/<int:person_pk>/", views.person_portrait, name="person-portrait"),
    path("portraits/community/<int:community_pk>/", views.community_audience, name="community-audience"),
    path("<int:pk>/", views.survey_detail, name="detail"),
    path("<int:pk>/edit/", views.survey_edit, name="edit"),
    path("<int:pk>/questions/new/", views.question_edit, name="question-create"),
    path("<int:pk>/questions/<int:question_pk>/", views.question_edit, name="question-edit"),
    path("<int:pk>/questions/<int:question_pk>/delete/", views.question_delete, name="question-delete"),
    path("<int:pk>/questions/<int:question_pk>/move/", views.question_move, name="question-move"),
    path("<int:pk>/questions/<int:question_pk>/rules/", views.rule_add, name="rule-add"),
    path("<int:pk>/rules/<int:rule_pk>/delete/", views.rule_delete, name="rule-delete"),
    path("<int:pk>/publish/", views.survey_publish, name="do-publish"),
    path("<int:pk>/share/", views.survey_publish_page, name="publish"),
    path("<int:pk>/close/", views.survey_close, name="close"),
    path("<int:pk>/rotate/", views.survey_rotate, name="rotate"),
    path("<int:pk>/results/", views.survey_results, name="results"),
    path("<int:pk>/export/", views.survey_export, name="export"),
    path("<int:pk>/report.pdf", views.survey_report, name="report"),
    path("<int:pk>/responses/", views.survey_responses, name="responses"),
    path("<int:pk>/responses/<int:response_pk>/delete/", views.response_delete, name="response-delete"),
]
