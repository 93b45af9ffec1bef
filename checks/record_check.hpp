// One check body for the kinds that count a service's journaled records
// (RESP commands, SQL statements): a matcher selects records, a count range
// says how many must match, and `every` selected record must also match a
// second matcher. Failures show the closest record and what differed.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.hpp"

namespace wirelab::checks {

/// What a kind tells the shared body about its records.
template <class Row>
struct RecordKind {
    std::string matcher_key;   // "command", "statement"
    std::string noun;          // "command", "SQL statement"
    std::string list_title;    // "commands the service received"
    std::function<const std::vector<Row>&(RunData&)> rows;
    std::function<std::string(const Row&)> shown;
};

/// `Matcher` has a constructor from Spec&, mismatch(row) ("" = matches) and
/// describe().
template <class Row, class Matcher>
class RecordCheck : public Check {
public:
    RecordCheck(Spec& s, const CheckContext& ctx, RecordKind<Row> kind) : kind_(std::move(kind)) {
        service_ = s.string("service");
        ctx.require_service(s, "service", service_);
        cases_ = ctx.cases(s);
        if (s.has(kind_.matcher_key)) {
            Spec m = s.object(kind_.matcher_key);
            select_ = Matcher(m);
        }
        if (s.has("every")) {
            Spec m = s.object("every");
            every_ = Matcher(m);
        }
        if (const json* o = s.get("order")) {
            if (!o->is_array() || o->size() < 2)
                s.fail("order", "\"order\" is a list of two or more matchers that must match in that order");
            for (std::size_t i = 0; i < o->size(); ++i) {
                if (!(*o)[i].is_object()) s.fail("order", "each entry of \"order\" is a matcher (an object)");
                Spec m(s.doc(), (*o)[i], s.pointer("order") + "/" + std::to_string(i), "an \"order\" matcher");
                order_.emplace_back(m);
            }
        }
        range_ = CountRange::read(s);
    }

    Verdict evaluate(RunData& run) const override {
        std::vector<const Row*> all, selected;
        for (const auto& r : kind_.rows(run))
            if (r.service == service_ && run.in_cases(cases_, r.case_id)) all.push_back(&r);
        for (const Row* r : all)
            if (select_.mismatch(*r).empty()) selected.push_back(r);
        std::string what = select_.describe();
        if (all.empty() && range_.min > 0)
            return Verdict::fail("no " + kind_.noun + " reached \"" + service_ + "\"", what,
                                 "does the program connect with the address in the service's environment variables?");
        auto n = static_cast<std::int64_t>(selected.size());
        if (n < range_.min) {
            const Row* closest = nullptr;
            std::string why;
            for (const Row* r : all)
                if (auto w = select_.mismatch(*r); !closest || w.size() <= why.size()) closest = r, why = w;
            std::string obs;
            if (closest) obs += "closest: " + kind_.shown(*closest) + "\n  but " + why + "\n";
            obs += list(all, kind_.list_title);
            return Verdict::fail(range_.min == 1 && closest ? "nothing matched: " + why
                                                            : "expected at least " + std::to_string(range_.min) + " " +
                                                                  what + ", saw " + std::to_string(n),
                                 what, obs);
        }
        if (range_.max && n > *range_.max)
            return Verdict::fail(*range_.max == 0 ? "there should be no " + what + ", saw " + std::to_string(n)
                                                  : "expected at most " + std::to_string(*range_.max) + " " + what +
                                                        ", saw " + std::to_string(n),
                                 what, list(selected, "matching " + kind_.noun + "s"));
        if (!order_.empty()) {
            // Each matcher in turn, on what comes after the last one's match.
            std::size_t at = 0;
            const Row* last = nullptr;
            for (std::size_t k = 0; k < order_.size(); ++k) {
                while (at < all.size() && !order_[k].mismatch(*all[at]).empty()) ++at;
                if (at == all.size()) {
                    std::string msg = k == 0 ? "no " + order_[0].describe()
                                             : "no " + order_[k].describe() + " after " + order_[k - 1].describe();
                    std::string expect;
                    for (std::size_t j = 0; j < order_.size(); ++j) expect += (j ? ", then " : "") + order_[j].describe();
                    std::string obs = last ? "the last in order: " + kind_.shown(*last) + "\n" : "";
                    return Verdict::fail(msg, expect, obs + list(all, kind_.list_title));
                }
                last = all[at++];
            }
        }
        if (every_) {
            std::vector<std::pair<const Row*, std::string>> bad;
            for (const Row* r : selected)
                if (auto w = every_->mismatch(*r); !w.empty()) bad.emplace_back(r, w);
            if (!bad.empty()) {
                std::string obs;
                for (std::size_t i = 0; i < bad.size() && i < 6; ++i)
                    obs += kind_.shown(*bad[i].first) + "\n  but " + bad[i].second + "\n";
                return Verdict::fail(std::to_string(bad.size()) + " of " + std::to_string(selected.size()) + " " +
                                         what + " are not " + every_->describe(),
                                     "every " + what + ": " + every_->describe(), obs);
            }
        }
        return Verdict::pass();
    }

private:
    std::string list(const std::vector<const Row*>& rows, const std::string& title) const {
        std::string s = title + " (" + std::to_string(rows.size()) + "):";
        for (std::size_t i = 0; i < rows.size() && i < 12; ++i) s += "\n  " + kind_.shown(*rows[i]);
        if (rows.size() > 12) s += "\n  …";
        return s;
    }

    RecordKind<Row> kind_;
    std::string service_;
    std::vector<std::string> cases_;
    Matcher select_;
    std::optional<Matcher> every_;
    std::vector<Matcher> order_;
    CountRange range_;
};

}  // namespace wirelab::checks
