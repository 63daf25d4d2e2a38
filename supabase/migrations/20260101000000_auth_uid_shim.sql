-- Row-level security keys every policy on auth.uid(), as Supabase does. On Supabase it exists
-- and is left alone; on any other Postgres this creates a compatible one that reads the same
-- request.jwt.claims setting (set per transaction by whoever acts for a user).
create schema if not exists auth;

do $$
begin
  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid
      language sql stable
      as $fn$
        select coalesce(
          nullif(current_setting('request.jwt.claim.sub', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
        )::uuid
      $fn$;
    grant usage on schema auth to public;
  end if;
end
$$;
