-- Every applied vote rewrites its content's row (vote_count, vote_sum). With full pages the new
-- version lands on another page and needs a new entry in every index of contents; with free room on
-- the page it stays there as a heap-only tuple (HOT: no index touched, and the old version is pruned
-- on the page). vote_count and vote_sum are in no index, so every such update can be HOT.
-- Applies to pages written from now on; `VACUUM FULL contents` (an exclusive lock) rewrites the rest.
ALTER TABLE "contents" SET (fillfactor = 85);
