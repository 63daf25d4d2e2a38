// What room.js uses from livekit-client; esbuild bundles only this into livekit-client.bundle.js.
export { ConnectionState, ParticipantKind, Room, RoomEvent, Track } from "livekit-client";
