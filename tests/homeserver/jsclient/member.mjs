// A community member on matrix-js-sdk with its Rust crypto (Element's engine), driven by the
// homeserver tests: one JSON request per line on stdin, one JSON answer per line on stdout.
// Requests are {"id", "op", ...arguments}; answers {"id", "ok": true, "result"} or
// {"id", "ok": false, "error"}. Everything the SDK logs goes to stderr.

import "./polyfills.mjs";
import "fake-indexeddb/auto";
import { createInterface } from "node:readline";
import * as sdk from "matrix-js-sdk";
import {
    AllDevicesIsolationMode,
    EventShieldColour,
    EventShieldReason,
    OnlySignedDevicesIsolationMode,
} from "matrix-js-sdk/lib/crypto-api/index.js";
import { logger } from "matrix-js-sdk/lib/logger.js";

const protocolOut = process.stdout.write.bind(process.stdout);
for (const level of ["log", "info", "debug", "warn", "error", "trace"]) {
    console[level] = (...parts) => process.stderr.write(parts.map(String).join(" ") + "\n");
}
logger.setLevel(process.env.MEMBER_LOG_LEVEL || "warn");

const WAIT_STEP_MS = 50;
let client = null;
let secretStorageKey = null; // {keyId, privateKey} of the key this member created
const changed = new Set(); // callbacks to run whenever something arrives

function notify() {
    for (const callback of [...changed]) callback();
}

/** Resolve with check()'s first truthy value; reject after timeoutMs. Woken by every event. */
function until(check, timeoutMs, what) {
    return new Promise((resolve, reject) => {
        let settled = false;
        const attempt = async () => {
            if (settled) return;
            try {
                const value = await check();
                if (value && !settled) finish(() => resolve(value));
            } catch (error) {
                finish(() => reject(error));
            }
        };
        const timer = setTimeout(
            () => finish(() => reject(new Error(`${what}: not within ${timeoutMs} ms`))),
            timeoutMs,
        );
        const ticker = setInterval(attempt, WAIT_STEP_MS);
        const finish = (how) => {
            settled = true;
            clearTimeout(timer);
            clearInterval(ticker);
            changed.delete(attempt);
            how();
        };
        changed.add(attempt);
        attempt();
    });
}

function isolationMode(name) {
    if (name === "signed") return new OnlySignedDevicesIsolationMode();
    if (name === "all") return new AllDevicesIsolationMode(false);
    throw new Error(`unknown isolation mode ${name}`);
}

async function start({ homeserver, userId, deviceId, accessToken, isolation, password, crossSign }) {
    client = sdk.createClient({
        baseUrl: homeserver,
        userId,
        deviceId,
        accessToken,
        cryptoCallbacks: {
            getSecretStorageKey: async ({ keys }) => {
                if (!secretStorageKey || !(secretStorageKey.keyId in keys)) return null;
                return [secretStorageKey.keyId, secretStorageKey.privateKey];
            },
            cacheSecretStorageKey: (keyId, _info, privateKey) => {
                secretStorageKey = { keyId, privateKey };
            },
        },
    });
    client.password = password;
    await client.initRustCrypto({ useIndexedDB: false });
    client.getCrypto().setDeviceIsolationMode(isolationMode(isolation || "all"));
    if (crossSign) await crossSignSelf();
    client.on(sdk.RoomEvent.Timeline, notify);
    client.on(sdk.MatrixEventEvent.Decrypted, notify);
    client.on(sdk.RoomMemberEvent.Membership, (_event, member) => {
        if (member.userId === userId && member.membership === "invite") acceptInvite(member.roomId);
        notify();
    });
    client.on(sdk.ClientEvent.Sync, notify);
    const prepared = until(() => client.isInitialSyncComplete(), 60_000, "first sync");
    await client.startClient({ initialSyncLimit: 20 });
    await prepared;
    return { deviceId: client.getDeviceId() };
}

const joining = new Set();

/** Join every room this member is invited to (the DM the bot opens, for instance). */
function acceptInvite(roomId) {
    if (joining.has(roomId)) return;
    joining.add(roomId);
    client.joinRoom(roomId).catch((error) => console.error(`join ${roomId} failed`, error));
}

async function setIsolation({ isolation }) {
    client.getCrypto().setDeviceIsolationMode(isolationMode(isolation));
    return {};
}

/** Element's "Never send encrypted messages to unverified sessions from this session". */
async function setOnlyVerified({ value }) {
    client.getCrypto().globalBlacklistUnverifiedDevices = !!value;
    return {};
}

async function createRoom({ invite, direct, encrypted, name }) {
    const initialState = encrypted === false ? [] : [
        { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } },
    ];
    const options = { invite, is_direct: !!direct, initial_state: initialState };
    if (direct) options.preset = "trusted_private_chat";
    if (name) options.name = name;
    const { room_id: roomId } = await client.createRoom(options);
    if (direct) {
        const current = client.getAccountData("m.direct")?.getContent() || {};
        for (const user of invite) current[user] = [...(current[user] || []), roomId];
        await client.setAccountData("m.direct", current);
    }
    await until(() => client.getRoom(roomId), 20_000, `room ${roomId}`);
    return { roomId };
}

async function join({ roomId }) {
    await until(() => client.getRoom(roomId)?.getMyMembership() === "invite"
        || client.getRoom(roomId)?.getMyMembership() === "join", 30_000, `invite to ${roomId}`);
    await client.joinRoom(roomId);
    await until(() => client.getRoom(roomId)?.getMyMembership() === "join", 20_000, "join");
    return {};
}

async function waitForMember({ roomId, userId, timeoutMs }) {
    await until(
        () => client.getRoom(roomId)?.getMember(userId)?.membership === "join",
        timeoutMs || 30_000,
        `${userId} in ${roomId}`,
    );
    return {};
}

async function sendText({ roomId, body }) {
    const { event_id: eventId } = await client.sendEvent(roomId, "m.room.message", {
        msgtype: "m.text",
        body,
    });
    return { eventId };
}

function replyTarget(event) {
    return event.getContent()?.["m.relates_to"]?.["m.in_reply_to"]?.event_id;
}

/** What a person would see of an event: its text, and the shield next to it. */
async function describe(event) {
    const info = event.isDecryptionFailure()
        ? null
        : await client.getCrypto().getEncryptionInfoForEvent(event);
    return {
        eventId: event.getId(),
        sender: event.getSender(),
        encrypted: event.isEncrypted(),
        decrypted: event.isEncrypted() && !event.isDecryptionFailure(),
        failure: event.isDecryptionFailure() ? event.decryptionFailureReason : null,
        body: event.getContent()?.body ?? null,
        content: event.getContent(),
        shield: info ? EventShieldColour[info.shieldColour] : null,
        shieldReason: info?.shieldReason == null ? null : EventShieldReason[info.shieldReason],
    };
}

function settled(event) {
    return !event.isBeingDecrypted() && event.getType() !== "m.room.encrypted" ||
        event.isDecryptionFailure();
}

async function waitFor(roomId, matches, timeoutMs, what, allowFailure) {
    const found = await until(() => {
        const room = client.getRoom(roomId);
        if (!room) return null;
        return room.getLiveTimeline().getEvents().find(
            (event) => (allowFailure || !event.isDecryptionFailure()) && settled(event) &&
                matches(event),
        );
    }, timeoutMs || 30_000, what);
    return describe(found);
}

async function waitReply({ roomId, eventId, timeoutMs }) {
    return waitFor(roomId, (event) => replyTarget(event) === eventId, timeoutMs,
        `reply to ${eventId}`);
}

async function waitMessage({ roomId, sender, contains, timeoutMs, allowFailure }) {
    return waitFor(roomId, (event) => event.getSender() === sender &&
        (contains == null || (event.getContent()?.body || "").includes(contains)),
    timeoutMs, `message from ${sender} containing ${contains}`, allowFailure);
}

/** The first message of ``sender`` containing ``contains`` in any room but ``exceptRoomId``. */
async function waitElsewhere({ sender, contains, exceptRoomId, timeoutMs }) {
    const found = await until(() => {
        for (const room of client.getRooms()) {
            if (room.roomId === exceptRoomId) continue;
            const event = room.getLiveTimeline().getEvents().find((candidate) =>
                candidate.getSender() === sender && settled(candidate) &&
                (candidate.isDecryptionFailure() ||
                    (candidate.getContent()?.body || "").includes(contains)));
            if (event) return { room, event };
        }
        return null;
    }, timeoutMs || 30_000, `message from ${sender} containing ${contains}`);
    return { roomId: found.room.roomId, ...(await describe(found.event)) };
}

/** Messages of ``sender`` in the room, as the homeserver serves its latest hundred. */
async function countMessages({ roomId, sender }) {
    const page = await client.createMessagesRequest(roomId, null, 100, "b");
    const count = page.chunk.filter((event) => event.sender === sender &&
        ["m.room.message", "m.room.encrypted"].includes(event.type)).length;
    return { count };
}

async function waitUndecryptable({ roomId, sender, timeoutMs }) {
    return waitFor(roomId, (event) => event.getSender() === sender && event.isDecryptionFailure(),
        timeoutMs, `undecryptable message from ${sender}`, true);
}

async function userStatus({ userId }) {
    const crypto = client.getCrypto();
    await crypto.getUserDeviceInfo([userId], true);
    const status = await crypto.getUserVerificationStatus(userId);
    const devices = (await crypto.getUserDeviceInfo([userId], true)).get(userId) || new Map();
    const signed = {};
    for (const deviceId of devices.keys()) {
        const device = await crypto.getDeviceVerificationStatus(userId, deviceId);
        signed[deviceId] = !!device?.signedByOwner;
    }
    return {
        hasCrossSigningKeys: await crypto.userHasCrossSigningKeys(userId, true),
        needsUserApproval: status.needsUserApproval,
        wasCrossSigningVerified: status.wasCrossSigningVerified(),
        masterKey: (await crypto.getUserCrossSigningKeys(userId))?.master_key?.keys,
        devicesSignedByOwner: signed,
    };
}

async function waitDeviceSigned({ userId, deviceId, timeoutMs }) {
    const crypto = client.getCrypto();
    await until(async () => {
        await crypto.getUserDeviceInfo([userId], true);
        return (await crypto.getDeviceVerificationStatus(userId, deviceId))?.signedByOwner;
    }, timeoutMs || 30_000, `${deviceId} signed by ${userId}`);
    return {};
}

/** Cross-signing keys for this account, this device signed: every Tchap account has them. */
async function crossSignSelf() {
    const userId = client.getUserId();
    await client.getCrypto().bootstrapCrossSigning({
        setupNewCrossSigning: true,
        authUploadDeviceSigningKeys: async (makeRequest) => {
            await makeRequest({
                type: "m.login.password",
                identifier: { type: "m.id.user", user: userId },
                password: client.password,
            });
        },
    });
}

/** Make this account's identity as Element and Tchap do: cross-signing, then secret storage
 * behind a new recovery key (from a passphrase when one is given). */
async function bootstrapIdentity({ passphrase }) {
    const crypto = client.getCrypto();
    const userId = client.getUserId();
    await crossSignSelf();
    const generated = await crypto.createRecoveryKeyFromPassphrase(passphrase || undefined);
    await crypto.bootstrapSecretStorage({
        createSecretStorageKey: async () => generated,
        setupNewSecretStorage: true,
    });
    const keys = await crypto.getUserCrossSigningKeys(userId);
    return {
        recoveryKey: generated.encodedPrivateKey,
        masterKey: Object.values(keys.master_key.keys)[0],
        ready: await crypto.isCrossSigningReady(),
        secretStorageReady: await crypto.isSecretStorageReady(),
    };
}

async function stop() {
    client?.stopClient();
    return {};
}

const operations = {
    start, setIsolation, setOnlyVerified, createRoom, join, waitForMember, sendText, waitReply, waitMessage,
    waitUndecryptable, waitElsewhere, countMessages, userStatus, waitDeviceSigned, bootstrapIdentity, stop,
};

async function handle(line) {
    let request;
    try {
        request = JSON.parse(line);
        const operation = operations[request.op];
        if (!operation) throw new Error(`unknown operation ${request.op}`);
        const result = await operation(request);
        protocolOut(JSON.stringify({ id: request.id, ok: true, result }) + "\n");
    } catch (error) {
        const message = error?.stack || String(error);
        protocolOut(JSON.stringify({ id: request?.id ?? null, ok: false, error: message }) + "\n");
    }
    if (request?.op === "stop") process.exit(0);
}

createInterface({ input: process.stdin }).on("line", (line) => { handle(line); })
    .on("close", () => process.exit(0));
protocolOut(JSON.stringify({ ready: true }) + "\n");
