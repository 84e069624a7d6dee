"""The local stack decides parameter-only conditions before it deploys (infra.local.template)."""

from __future__ import annotations

from infra.local.template import resolve_conditions

TEMPLATE = {
    "Conditions": {
        "HasUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Url"}, ""]}]},
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "ProdWithUrl": {"Fn::And": [{"Condition": "HasUrl"}, {"Condition": "IsProd"}]},
        "InEu": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]},
    },
    "Resources": {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Url": {"Fn::If": ["HasUrl", {"Ref": "Url"}, {"Fn::GetAtt": ["Api", "Url"]}]},
                "Tier": {"Fn::If": ["IsProd", "big", {"Ref": "AWS::NoValue"}]},
                "Region": {"Fn::If": ["InEu", "eu", "other"]},
            },
        },
        "OnlyInProd": {"Type": "AWS::SNS::Topic", "Condition": "ProdWithUrl"},
        "Always": {"Type": "AWS::SNS::Topic", "Condition": "HasUrl"},
    },
    "Outputs": {"Prod": {"Condition": "IsProd", "Value": "x"}},
}


def test_parameter_only_conditions_take_their_branch_and_drop_false_resources() -> None:
    resolved = resolve_conditions(TEMPLATE, {"Url": "https://api.example", "Stage": "dev"})
    props = resolved["Resources"]["Fn"]["Properties"]
    assert props["Url"] == {"Ref": "Url"}
    assert "Tier" not in props  # AWS::NoValue removes the key
    assert "OnlyInProd" not in resolved["Resources"]
    assert "Condition" not in resolved["Resources"]["Always"]
    assert resolved["Outputs"] == {}
    # A condition on a pseudo parameter is CloudFormation's to decide.
    assert props["Region"] == {"Fn::If": ["InEu", "eu", "other"]}
    assert set(resolved["Conditions"]) == {"InEu"}


def test_the_other_branch_when_the_parameter_is_empty() -> None:
    resolved = resolve_conditions(TEMPLATE, {"Url": "", "Stage": "prod"})
    props = resolved["Resources"]["Fn"]["Properties"]
    assert props["Url"] == {"Fn::GetAtt": ["Api", "Url"]}
    assert props["Tier"] == "big"
    assert "OnlyInProd" not in resolved["Resources"] and "Always" not in resolved["Resources"]
    assert resolved["Outputs"] == {"Prod": {"Value": "x"}}  # a true condition is dropped
    # The template given is left as it was.
    assert TEMPLATE["Resources"]["Fn"]["Properties"]["Tier"]["Fn::If"][0] == "IsProd"
    assert TEMPLATE["Outputs"]["Prod"]["Condition"] == "IsProd"
