"""SSM `DescribeParameters` honours `MaxResults`.

AWS returns up to `MaxResults` parameters a page (1 to 50, default 10). moto 5.2.5 always pages by 10, so a
stack with hundreds of parameters takes five times the requests it takes on AWS. Here `MaxResults` sets the
page size (an invalid value falls back to moto's 10). Exercised by the request budgets (tests/requests.rs).
"""


def apply():
    from moto.core.responses import ActionResult
    from moto.ssm.responses import SimpleSystemManagerResponse

    def describe_parameters(self):
        try:
            page_size = int(self._get_param("MaxResults") or 10)
        except (TypeError, ValueError):
            page_size = 10
        if not 1 <= page_size <= 50:
            page_size = 10
        filters = self._get_param("Filters")
        parameter_filters = self._get_param("ParameterFilters")
        token = self._get_param("NextToken")
        if hasattr(token, "strip"):
            token = token.strip()
        token = int(token or "0")
        result = self.ssm_backend.describe_parameters(filters, parameter_filters)
        response = {"Parameters": []}
        end = token + page_size
        for parameter in result[token:]:
            response["Parameters"].append(parameter.describe_response_object(False))
            token += 1
            if len(response["Parameters"]) == page_size:
                response["NextToken"] = str(end)
                break
        return ActionResult(response)

    SimpleSystemManagerResponse.describe_parameters = describe_parameters
