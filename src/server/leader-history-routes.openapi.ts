import { DEFAULT_EVENT_CAPACITY } from '../history/event-log.js';
import {
  arr,
  authErrors,
  bool,
  clusterParam,
  err,
  int,
  json,
  obj,
  orNull,
  pageBefore,
  pageLimit,
  ref,
  str,
  time,
  type ApiDescription,
} from '../http/openapi-schema.js';
import { DEFAULT_PAGE } from './leader-history-routes.js';

/** OpenAPI description of the route in ./leader-history-routes.ts. */
export const leaderHistoryApi: ApiDescription = {
  schemas: {
    LeaderHistory: obj({
      cluster: str,
      count: int,
      nextBefore: orNull(int),
      persistent: bool,
      changes: arr(
        obj({
          seq: int,
          at: time,
          cluster: str,
          previousLeaderId: orNull(str),
          previousLeader: orNull(str),
          leaderId: str,
          leader: orNull(str),
          term: int,
        }),
      ),
    }),
  },
  paths: {
    '/api/v1/cluster/leader/history': {
      get: {
        summary: `Leader changes of the cluster, newest first (time, previous and new leader, term); the last ${DEFAULT_EVENT_CAPACITY} of all clusters, kept under --data-dir across restarts. A restart of the exporter is not a change.`,
        // `limit` goes up to the store's capacity.
        parameters: [clusterParam, pageLimit(DEFAULT_PAGE, DEFAULT_EVENT_CAPACITY), pageBefore],
        responses: {
          '200': json(ref('LeaderHistory'), 'Leader changes.'),
          '400': err('A query parameter is malformed.'),
          '404': err('No cluster with that name.'),
          ...authErrors,
        },
      },
    },
  },
};
