-- Row-level security: a user sees only their own rows, and a room's rows only as its member.
-- Parley's API connects as the tables' owner (or Supabase's service role), which bypasses
-- these policies and enforces the same rules in its store; the policies guard every other
-- path to the data (Supabase's REST API, a leaked anon key, a reporting role).

-- Membership checks run as their owner (security definer) so that the policies on rooms and
-- room_members can use them without recursing into each other.
create or replace function parley_is_room_member(p_room uuid) returns boolean
  language sql stable security definer set search_path from current
  as $$ select exists (select 1 from room_members where room_id = p_room and user_id = auth.uid()) $$;

create or replace function parley_is_session_member(p_session uuid) returns boolean
  language sql stable security definer set search_path from current
  as $$ select exists (select 1 from sessions s join room_members m on m.room_id = s.room_id
                       where s.id = p_session and m.user_id = auth.uid()) $$;

alter table users enable row level security;
alter table api_keys enable row level security;
alter table refresh_tokens enable row level security;  -- no policy: nobody but the owner role
alter table rooms enable row level security;
alter table room_members enable row level security;
alter table sessions enable row level security;
alter table participants enable row level security;
alter table segments enable row level security;
alter table memories enable row level security;
alter table speakers enable row level security;

drop policy if exists users_self on users;
create policy users_self on users for select using (id = auth.uid());

drop policy if exists api_keys_own on api_keys;
create policy api_keys_own on api_keys for select using (user_id = auth.uid());

drop policy if exists rooms_members_read on rooms;
create policy rooms_members_read on rooms for select using (parley_is_room_member(id));
drop policy if exists rooms_owner_write on rooms;
create policy rooms_owner_write on rooms for all using (owner_id = auth.uid()) with check (owner_id = auth.uid());

drop policy if exists room_members_read on room_members;
create policy room_members_read on room_members for select using (parley_is_room_member(room_id));

drop policy if exists sessions_members_read on sessions;
create policy sessions_members_read on sessions for select using (parley_is_room_member(room_id));

drop policy if exists participants_members_read on participants;
create policy participants_members_read on participants for select using (parley_is_session_member(session_id));

drop policy if exists segments_members_read on segments;
create policy segments_members_read on segments for select using (parley_is_session_member(session_id));

drop policy if exists memories_own on memories;
create policy memories_own on memories for all using (owner_id = auth.uid()) with check (owner_id = auth.uid());

drop policy if exists speakers_own on speakers;
create policy speakers_own on speakers for all using (owner_id = auth.uid()) with check (owner_id = auth.uid());
