from django.urls import path

from tuanju.groups import community_views as c
from tuanju.groups import views

app_name = "groups"
urlpatterns = [
    # C5 tower groups
    path("", views.tower, name="tower"),
    path("tower/<int:unit_pk>/", views.tower, name="tower-unit"),
    path("tower/<int:unit_pk>/build/", views.build, name="build"),
    path("tower/<int:unit_pk>/place/", views.place, name="place"),
    path("tower/<int:unit_pk>/missing/", views.missing_units, name="missing"),
    path("list/", views.group_list, name="list"),
    path("export/", views.export, name="export"),
    path("liaisons/assign/", views.bulk_liaison, name="bulk-liaison"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/owner/", views.owner, name="owner"),
    path("<int:pk>/liaisons/add/", views.liaison_add, name="liaison-add"),
    path("<int:pk>/liaisons/<int:lid>/remove/", views.liaison_remove, name="liaison-remove"),
    path("<int:pk>/members/add/", views.member_add, name="member-add"),
    path("<int:pk>/members/<int:mid>/remove/", views.member_remove, name="member-remove"),
    # C6 interest communities
    path("communities/", c.community_list, name="community-list"),
    path("communities/new/", c.community_create, name="community-create"),
    path("communities/<int:pk>/", c.community_detail, name="community"),
    path("communities/<int:pk>/edit/", c.community_edit, name="community-edit"),
    path("communities/<int:pk>/charter/", c.community_charter, name="community-charter"),
    path("communities/<int:pk>/invites/reset/", c.community_reset_invites, name="community-reset-invites"),
    path("communities/<int:pk>/qr.png", c.community_qr_png, name="community-qr-png"),
    path("communities/<int:pk>/qr.svg", c.community_qr_svg, name="community-qr-svg"),
    path("communities/<int:pk>/poster/", c.community_poster, name="community-poster"),
    path("communities/<int:pk>/decide/", c.community_decide, name="community-decide"),
    path("communities/<int:pk>/members/add/", c.community_member_add, name="community-member-add"),
    path("communities/<int:pk>/members/export/", c.community_export, name="community-export"),
    path("communities/<int:pk>/members/<int:mid>/", c.community_member, name="community-member"),
    path(
        "communities/<int:pk>/members/<int:mid>/role/", c.community_member_role, name="community-member-role"
    ),
    path(
        "communities/<int:pk>/members/<int:mid>/remove/",
        c.community_member_remove,
        name="community-member-remove",
    ),
    path(
        "communities/<int:pk>/members/<int:mid>/warn/", c.community_member_warn, name="community-member-warn"
    ),
    path(
        "communities/<int:pk>/members/<int:mid>/blacklist/",
        c.community_member_blacklist,
        name="community-member-blacklist",
    ),
    path("communities/<int:pk>/blacklist/", c.community_blacklist_add, name="community-blacklist-add"),
    path(
        "communities/<int:pk>/blacklist/<int:eid>/lift/",
        c.community_blacklist_lift,
        name="community-blacklist-lift",
    ),
]
