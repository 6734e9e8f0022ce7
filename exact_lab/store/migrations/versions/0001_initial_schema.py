"""Initial schema: users, teams, templates, image sets, images, annotations, history, versions.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 12:12:52.915692
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table of the store."""
    op.create_table(
        "annotation_revisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("annotation_id", sa.BigInteger(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("image_set_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("superseded", sa.BigInteger(), nullable=False),
        sa.Column("annotation_type_id", sa.Integer(), nullable=False),
        sa.Column(
            "vector",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("frame", sa.Integer(), nullable=False),
        sa.Column("x_min", sa.Float(), nullable=True),
        sa.Column("y_min", sa.Float(), nullable=True),
        sa.Column("x_max", sa.Float(), nullable=True),
        sa.Column("y_max", sa.Float(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "meta_data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("concealed", sa.Boolean(), nullable=False),
        sa.Column("blurred", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotation_revisions")),
        sa.UniqueConstraint(
            "annotation_id", "revision", name=op.f("uq_annotation_revisions_annotation_id")
        ),
    )
    with op.batch_alter_table("annotation_revisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_annotation_revisions_set_superseded", ["image_set_id", "superseded"], unique=False
        )

    op.create_table(
        "annotations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("image_set_id", sa.Integer(), nullable=False),
        sa.Column("unique_identifier", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("last_editor_id", sa.Integer(), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_edit_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("verified_count", sa.Integer(), nullable=False),
        sa.Column("annotation_type_id", sa.Integer(), nullable=False),
        sa.Column(
            "vector",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("frame", sa.Integer(), nullable=False),
        sa.Column("x_min", sa.Float(), nullable=True),
        sa.Column("y_min", sa.Float(), nullable=True),
        sa.Column("x_max", sa.Float(), nullable=True),
        sa.Column("y_max", sa.Float(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "meta_data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("concealed", sa.Boolean(), nullable=False),
        sa.Column("blurred", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotations")),
        sa.UniqueConstraint("image_id", "unique_identifier", name=op.f("uq_annotations_image_id")),
    )
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_annotations_image_set_id"), ["image_set_id"], unique=False
        )

    op.create_table(
        "history_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_clock")),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "annotation_media_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("annotation_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("media_file_type", sa.Integer(), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["annotation_id"],
            ["annotations.id"],
            name=op.f("fk_annotation_media_files_annotation_id_annotations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotation_media_files")),
    )
    with op.batch_alter_table("annotation_media_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_annotation_media_files_annotation_id"), ["annotation_id"], unique=False
        )

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_tokens_prefix")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_memberships_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("team_id", "user_id", name=op.f("uq_memberships_team_id")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_team_id"), ["team_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_memberships_user_id"), ["user_id"], unique=False)

    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_products_creator_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_products_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("team_id", "name", name=op.f("uq_products_team_id")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_team_id"), ["team_id"], unique=False)

    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("annotation_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["annotation_id"],
            ["annotations.id"],
            name=op.f("fk_verifications_annotation_id_annotations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_verifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
        sa.UniqueConstraint(
            "annotation_id", "user_id", name=op.f("uq_verifications_annotation_id")
        ),
    )
    op.create_table(
        "annotation_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("vector_type", sa.Integer(), nullable=False),
        sa.Column("color_code", sa.String(length=7), nullable=False),
        sa.Column("default_width", sa.Integer(), nullable=False),
        sa.Column("default_height", sa.Integer(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("keyboard_shortcut", sa.String(length=20), nullable=True),
        sa.Column("node_count", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("area_hit_test", sa.Boolean(), nullable=False),
        sa.Column("enable_concealed", sa.Boolean(), nullable=False),
        sa.Column("enable_blurred", sa.Boolean(), nullable=False),
        sa.Column("multi_frame", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_annotation_types_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotation_types")),
        sa.UniqueConstraint("product_id", "name", name=op.f("uq_annotation_types_product_id")),
    )
    with op.batch_alter_table("annotation_types", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_annotation_types_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "image_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("main_annotation_type_id", sa.Integer(), nullable=True),
        sa.Column("collaboration_type", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_image_sets_creator_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["main_annotation_type_id"],
            ["annotation_types.id"],
            name=op.f("fk_image_sets_main_annotation_type_id_annotation_types"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_image_sets_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_sets")),
        sa.UniqueConstraint("team_id", "name", name=op.f("uq_image_sets_team_id")),
    )
    with op.batch_alter_table("image_sets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_image_sets_team_id"), ["team_id"], unique=False)

    op.create_table(
        "image_set_products",
        sa.Column("image_set_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_set_id"],
            ["image_sets.id"],
            name=op.f("fk_image_set_products_image_set_id_image_sets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_image_set_products_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("image_set_id", "product_id", name=op.f("pk_image_set_products")),
    )
    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_set_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("original_name", sa.String(length=500), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("mpp", sa.Double(), nullable=False),
        sa.Column("objective_power", sa.Double(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("channels", sa.Integer(), nullable=False),
        sa.Column("image_type", sa.Integer(), nullable=False),
        sa.Column("default_frame", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_set_id"],
            ["image_sets.id"],
            name=op.f("fk_images_image_set_id_image_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
        sa.UniqueConstraint("image_set_id", "name", name=op.f("uq_images_image_set_id")),
    )
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_images_image_set_id"), ["image_set_id"], unique=False)

    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_set_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column(
            "images",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_versions_creator_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["image_set_id"],
            ["image_sets.id"],
            name=op.f("fk_versions_image_set_id_image_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_versions")),
        sa.UniqueConstraint("image_set_id", "name", name=op.f("uq_versions_image_set_id")),
    )
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_versions_image_set_id"), ["image_set_id"], unique=False
        )

    op.create_table(
        "image_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_image_actions_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_image_actions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_actions")),
    )
    with op.batch_alter_table("image_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_image_actions_image_id"), ["image_id"], unique=False)

    op.create_table(
        "screening_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "screening_tiles",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("x_steps", sa.Integer(), nullable=False),
        sa.Column("y_steps", sa.Integer(), nullable=False),
        sa.Column("x_resolution", sa.Integer(), nullable=False),
        sa.Column("y_resolution", sa.Integer(), nullable=False),
        sa.Column("current_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_screening_states_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_screening_states_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_states")),
        sa.UniqueConstraint("image_id", "user_id", name=op.f("uq_screening_states_image_id")),
    )
    op.create_table(
        "version_artefacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_version_artefacts_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_artefacts")),
        sa.UniqueConstraint("version_id", "name", name=op.f("uq_version_artefacts_version_id")),
    )
    with op.batch_alter_table("version_artefacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_version_artefacts_version_id"), ["version_id"], unique=False
        )
    op.execute("INSERT INTO history_clock (id, position) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE history_position_seq AS bigint")


def downgrade() -> None:
    """Drop every table of the store."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS history_position_seq")
    with op.batch_alter_table("version_artefacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_artefacts_version_id"))

    op.drop_table("version_artefacts")
    op.drop_table("screening_states")
    with op.batch_alter_table("image_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_actions_image_id"))

    op.drop_table("image_actions")
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_versions_image_set_id"))

    op.drop_table("versions")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_images_image_set_id"))

    op.drop_table("images")
    op.drop_table("image_set_products")
    with op.batch_alter_table("image_sets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_sets_team_id"))

    op.drop_table("image_sets")
    with op.batch_alter_table("annotation_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annotation_types_product_id"))

    op.drop_table("annotation_types")
    op.drop_table("verifications")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_team_id"))

    op.drop_table("products")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_user_id"))
        batch_op.drop_index(batch_op.f("ix_memberships_team_id"))

    op.drop_table("memberships")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("annotation_media_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annotation_media_files_annotation_id"))

    op.drop_table("annotation_media_files")
    op.drop_table("users")
    op.drop_table("teams")
    op.drop_table("history_clock")
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annotations_image_set_id"))

    op.drop_table("annotations")
    with op.batch_alter_table("annotation_revisions", schema=None) as batch_op:
        batch_op.drop_index("ix_annotation_revisions_set_superseded")

    op.drop_table("annotation_revisions")
