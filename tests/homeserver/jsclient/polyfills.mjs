// matrix-js-sdk 43 declares Node >= 22; the one Node 22 feature it uses that Node 20 lacks is
// Promise.withResolvers (ES2024), defined here exactly as the standard describes it.
if (typeof Promise.withResolvers !== "function") {
    Promise.withResolvers = function withResolvers() {
        let resolve;
        let reject;
        const promise = new this((res, rej) => {
            resolve = res;
            reject = rej;
        });
        return { promise, resolve, reject };
    };
}
