"""Initial schema: runs, files, conversations, turns, hits, hit events, verdicts, appeals, users, audit.

Revision ID: 0001
Revises: 
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('interrupted', sa.Boolean(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('tonecheck_version', sa.String(length=20), nullable=True),
    sa.Column('paths', sa.Text(), nullable=True),
    sa.Column('conversations', sa.Integer(), nullable=False),
    sa.Column('findings', sa.Integer(), nullable=False),
    sa.Column('new', sa.Integer(), nullable=False),
    sa.Column('gone', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('agent_id', sa.String(length=100), nullable=True),
    sa.Column('key_id', sa.String(length=16), nullable=True),
    sa.Column('key_hash', sa.String(length=64), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('key_id', name=op.f('uq_users_key_id')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name'))
    )
    op.create_table('audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('object_type', sa.String(length=20), nullable=True),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit'))
    )
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_at'), ['at'], unique=False)

    op.create_table('conversations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('conv_key', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.String(length=100), nullable=True),
    sa.Column('call_start', sa.String(length=40), nullable=True),
    sa.Column('call_date', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=True),
    sa.Column('counterpart', sa.String(length=12), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('contact', sa.String(length=64), nullable=True),
    sa.Column('file', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('critical', sa.Boolean(), nullable=True),
    sa.Column('turns_hash', sa.String(length=32), nullable=True),
    sa.Column('first_run_id', sa.Integer(), nullable=False),
    sa.Column('last_run_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['first_run_id'], ['runs.id'], name=op.f('fk_conversations_first_run_id_runs')),
    sa.ForeignKeyConstraint(['last_run_id'], ['runs.id'], name=op.f('fk_conversations_last_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('conv_key', name=op.f('uq_conversations_conv_key'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversations_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_call_date'), ['call_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_last_run_id'), ['last_run_id'], unique=False)

    op.create_table('files',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=True),
    sa.Column('encoding', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('conversations', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_files_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_files'))
    )
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_files_run_id'), ['run_id'], unique=False)

    op.create_table('hits',
    sa.Column('hit_id', sa.String(length=16), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('turn', sa.Integer(), nullable=True),
    sa.Column('rule_id', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=10), nullable=False),
    sa.Column('subtype', sa.String(length=40), nullable=False),
    sa.Column('severity', sa.String(length=6), nullable=False),
    sa.Column('severity_order', sa.Integer(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('suggestion', sa.Text(), nullable=False),
    sa.Column('fix_start', sa.Integer(), nullable=False),
    sa.Column('fix_end', sa.Integer(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=16), nullable=False),
    sa.Column('agent_id', sa.String(length=100), nullable=True),
    sa.Column('call_date', sa.Date(), nullable=False),
    sa.Column('conv_score', sa.Float(), nullable=True),
    sa.Column('present', sa.Boolean(), nullable=False),
    sa.Column('first_run_id', sa.Integer(), nullable=False),
    sa.Column('last_run_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('appeal', sa.String(length=12), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('claimed_by', sa.Integer(), nullable=True),
    sa.Column('claim_expires', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['claimed_by'], ['users.id'], name=op.f('fk_hits_claimed_by_users')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_hits_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['first_run_id'], ['runs.id'], name=op.f('fk_hits_first_run_id_runs')),
    sa.ForeignKeyConstraint(['last_run_id'], ['runs.id'], name=op.f('fk_hits_last_run_id_runs')),
    sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'], name=op.f('fk_hits_reviewed_by_users')),
    sa.PrimaryKeyConstraint('hit_id', name=op.f('pk_hits'))
    )
    with op.batch_alter_table('hits', schema=None) as batch_op:
        batch_op.create_index('ix_hits_agent_queue', ['agent_id', 'status', 'present', 'severity_order', 'conv_score', 'hit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hits_claimed_by'), ['claimed_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_hits_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_hits_date_queue', ['status', 'present', 'call_date'], unique=False)
        batch_op.create_index('ix_hits_queue', ['status', 'present', 'severity_order', 'conv_score', 'hit_id', 'call_date'], unique=False)
        batch_op.create_index('ix_hits_rule_queue', ['rule_id', 'status', 'present', 'severity_order', 'conv_score', 'hit_id'], unique=False)
        batch_op.create_index('ix_hits_subtype_queue', ['subtype', 'status', 'present'], unique=False)

    op.create_table('turns',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('speaker', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('start', sa.Float(), nullable=True),
    sa.Column('counterpart', sa.String(length=12), nullable=True),
    sa.Column('rewrite', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_turns_conversation_id_conversations')),
    sa.PrimaryKeyConstraint('conversation_id', 'position', name=op.f('pk_turns'))
    )
    op.create_table('appeals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('hit_id', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_appeals_decided_by_users')),
    sa.ForeignKeyConstraint(['hit_id'], ['hits.hit_id'], name=op.f('fk_appeals_hit_id_hits')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_appeals_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals'))
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeals_hit_id'), ['hit_id'], unique=False)

    op.create_table('hit_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('hit_id', sa.String(length=16), nullable=False),
    sa.Column('event', sa.String(length=8), nullable=False),
    sa.Column('details', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['hit_id'], ['hits.hit_id'], name=op.f('fk_hit_events_hit_id_hits')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_hit_events_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hit_events'))
    )
    with op.batch_alter_table('hit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hit_events_hit_id'), ['hit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hit_events_run_id'), ['run_id'], unique=False)

    op.create_table('verdicts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('hit_id', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('verdict', sa.String(length=10), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hit_id'], ['hits.hit_id'], name=op.f('fk_verdicts_hit_id_hits')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_verdicts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verdicts'))
    )
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verdicts_hit_id'), ['hit_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verdicts_hit_id'))

    op.drop_table('verdicts')
    with op.batch_alter_table('hit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hit_events_run_id'))
        batch_op.drop_index(batch_op.f('ix_hit_events_hit_id'))

    op.drop_table('hit_events')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeals_hit_id'))

    op.drop_table('appeals')
    op.drop_table('turns')
    with op.batch_alter_table('hits', schema=None) as batch_op:
        batch_op.drop_index('ix_hits_subtype_queue')
        batch_op.drop_index('ix_hits_rule_queue')
        batch_op.drop_index('ix_hits_queue')
        batch_op.drop_index('ix_hits_date_queue')
        batch_op.drop_index(batch_op.f('ix_hits_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_hits_claimed_by'))
        batch_op.drop_index('ix_hits_agent_queue')

    op.drop_table('hits')
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_files_run_id'))

    op.drop_table('files')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_last_run_id'))
        batch_op.drop_index(batch_op.f('ix_conversations_call_date'))
        batch_op.drop_index(batch_op.f('ix_conversations_agent_id'))

    op.drop_table('conversations')
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_at'))

    op.drop_table('audit')
    op.drop_table('users')
    op.drop_table('runs')
