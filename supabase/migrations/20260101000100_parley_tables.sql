-- Parley's tables. Times are timestamptz (UTC), ids uuid; on Supabase users.id is the
-- auth.users id of the account. Written to be re-runnable: every object "if not exists".
create table if not exists users (
  id uuid primary key,
  email text not null unique,
  display_name text not null,
  password_hash text,                      -- local accounts only (argon2); null with Supabase Auth
  is_admin boolean not null default false,
  must_change_password boolean not null default false,
  created_at timestamptz not null default now()
);

create table if not exists api_keys (
  id uuid primary key,
  user_id uuid not null references users(id) on delete cascade,
  name text not null,
  prefix text not null unique,             -- public part of the key, to find it
  key_hash text not null,                  -- sha256 of the whole key; the key itself is never stored
  scopes jsonb not null default '[]',
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index if not exists api_keys_user on api_keys(user_id);

create table if not exists refresh_tokens (
  id uuid primary key,
  user_id uuid not null references users(id) on delete cascade,
  family_id uuid not null,                 -- one login; reuse of a rotated token revokes the family
  token_hash text not null unique,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  revoked_at timestamptz
);
create index if not exists refresh_tokens_family on refresh_tokens(family_id);
create index if not exists refresh_tokens_user on refresh_tokens(user_id);

create table if not exists rooms (
  id uuid primary key,
  name text not null unique,
  title text not null,
  owner_id uuid not null references users(id) on delete cascade,
  private boolean not null default true,
  created_at timestamptz not null default now()
);

create table if not exists room_members (
  room_id uuid not null references rooms(id) on delete cascade,
  user_id uuid not null references users(id) on delete cascade,
  role text not null check (role in ('owner', 'member')),
  added_at timestamptz not null default now(),
  primary key (room_id, user_id)
);
create index if not exists room_members_user on room_members(user_id);

create table if not exists sessions (
  id uuid primary key,
  room_id uuid not null references rooms(id) on delete cascade,
  started_at timestamptz not null default now(),
  ended_at timestamptz,
  title text,
  summary text,
  last_seq integer not null default 0
);
create index if not exists sessions_room on sessions(room_id, started_at desc);

create table if not exists participants (
  id uuid primary key,
  session_id uuid not null references sessions(id) on delete cascade,
  identity text not null,
  display_name text not null,
  user_id uuid references users(id) on delete set null,
  joined_at timestamptz not null default now(),
  unique (session_id, identity)
);

create table if not exists segments (
  id uuid primary key,
  session_id uuid not null references sessions(id) on delete cascade,
  seq integer not null,
  participant_id uuid references participants(id) on delete set null,
  speaker text not null,
  start_s double precision not null,
  end_s double precision not null,
  text text not null,
  emotion text,
  emotion_score real,
  created_at timestamptz not null default now(),
  unique (session_id, seq)
);

-- memories.embedding is added by the next migration: pgvector where available.
create table if not exists memories (
  id uuid primary key,
  owner_id uuid not null references users(id) on delete cascade,
  text text not null,
  tags jsonb not null default '[]',
  speaker text,
  emotion text,
  source_session_id uuid references sessions(id) on delete set null,
  source_segment_id uuid references segments(id) on delete set null,
  embedding_dim integer not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists memories_owner on memories(owner_id, created_at desc);

create table if not exists speakers (
  id uuid primary key,
  owner_id uuid not null references users(id) on delete cascade,
  name text not null,
  embedding bytea not null,                -- float32 voice embedding (resemblyzer: 256-d)
  embedding_dim integer not null,
  created_at timestamptz not null default now(),
  unique (owner_id, name)
);
